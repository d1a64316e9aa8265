import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mongoose';
import { connectDatabase } from '@relais/shared';
import { testConfig, uniqueNamespace } from '@relais/testing';
import { Register, RegisterImportError } from '../src/data/register';
import { parseRegister, screen } from '../src/domain/screening';

type Json = { Publications: { DatePublication: string; PublicationDetail: Record<string, unknown>[] } };
const sample = (): Json => JSON.parse(readFileSync(new URL('./fixtures/gels-avoirs-sample.json', import.meta.url), 'utf8')) as Json;

describe('asset-freeze register repository (real database)', function () {
  this.timeout(60_000);
  const config = testConfig(uniqueNamespace());
  let db: Connection;
  let register: Register;

  before(async () => {
    db = await connectDatabase(config, 'contacts');
    register = Register.open(db);
    await register.init();
  });
  after(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  it('has nothing to screen against before the first import', async () => {
    expect(await register.index()).to.equal(null);
  });

  it('imports a publication whole, keeps its date, and reads back the entries as parsed', async () => {
    const result = await register.importPublication(sample());
    expect(result).to.deep.include({ changed: true, entries: 20, previous: null });
    expect(result.publishedAt.toISOString()).to.equal('2026-04-30T15:05:12.347Z');
    const read = (await register.read())!;
    expect(read.publishedAt.toISOString()).to.equal('2026-04-30T15:05:12.347Z');
    expect(read.entries).to.deep.equal(parseRegister(sample()).entries);
    const index = (await register.index())!;
    expect(screen({ nature: 'person', name: 'Mohammed Abdelkader Kortani' }, index).candidates[0].entryId).to.equal('90002');
  });

  it('changes nothing when the same publication is imported again, even reformatted', async () => {
    const before = (await register.current())!;
    const again = await register.importPublication(JSON.parse(JSON.stringify(sample(), null, 4)));
    expect(again).to.deep.include({ changed: false, entries: 20 });
    expect(await register.current()).to.deep.equal(before);
    expect(await db.collection('register_entries').countDocuments()).to.equal(20);
  });

  it('replaces every entry with a newer publication, and refuses an older one', async () => {
    const newer = sample();
    newer.Publications.DatePublication = '2026-05-07T17:00:00+02:00';
    newer.Publications.PublicationDetail = newer.Publications.PublicationDetail.filter((e) => e.IdRegistre !== 90014);
    const result = await register.importPublication(newer);
    expect(result).to.deep.include({ changed: true, entries: 19 });
    expect(result.previous!.entries).to.equal(20);
    const read = (await register.read())!;
    expect(read.publishedAt.toISOString()).to.equal('2026-05-07T15:00:00.000Z');
    expect(read.entries.map((e) => e.id)).to.not.include('90014');
    expect(await db.collection('register_entries').countDocuments()).to.equal(19);

    const error = await register.importPublication(sample()).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(RegisterImportError);
    expect((error as Error).message).to.match(/older than the current one/);
    expect((await register.current())!.entryCount).to.equal(19);
  });

  it('completes an import interrupted before its switch when the file is imported again', async () => {
    const next = sample();
    next.Publications.DatePublication = '2026-05-14T17:00:00+02:00';
    // A first attempt that stored only some entries, then stopped: the current publication is untouched.
    const partial = { Publications: { ...next.Publications, PublicationDetail: next.Publications.PublicationDetail.slice(0, 5) } };
    const hashOfNext = (await import('../src/data/register')).publicationHash(parseRegister(next));
    const leftovers = parseRegister(partial).entries.map((e) => ({ ...e, _id: `${hashOfNext.slice(0, 16)}:${e.id}`, publicationHash: hashOfNext }));
    await db.collection('register_entries').insertMany(leftovers as never[]);
    expect((await register.current())!.entryCount).to.equal(19);

    const result = await register.importPublication(next);
    expect(result).to.deep.include({ changed: true, entries: 20 });
    expect(await db.collection('register_entries').countDocuments()).to.equal(20);
  });
});
