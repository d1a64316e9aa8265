import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase, isDuplicateKey, parseInput, type AuthContext } from '@relais/shared';
import { testConfig, uniqueNamespace } from '@relais/testing';
import { createPersonInput, searchPeopleInput } from '../src/api';
import { Parties } from '../src/data/parties';
import { applyChanges, newPerson, page, peopleQuery, toPerson, type PersonDoc } from '../src/domain/people';
import { SEARCH_VERSION } from '../src/domain/search';

const staff = (orgId: string): AuthContext => ({ orgId, userId: randomUUID(), role: 'agent' });
const personOf = (orgId: string, fields: Record<string, unknown>): PersonDoc =>
  newPerson(parseInput(createPersonInput, { lastName: 'Doe', firstName: 'Sam', ...fields }), staff(orgId), randomUUID(), new Date());
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('accepted'),
    (err: unknown) => err,
  );

describe('people repository (real database)', function () {
  this.timeout(60_000);
  const config = testConfig(uniqueNamespace());
  let db: Connection;
  let people: Parties;

  before(async () => {
    db = await connectDatabase(config, 'contacts');
    people = Parties.open(db);
    await people.init();
  });
  after(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  it('keeps a customId unique in its org, lets another org reuse it, and never counts files without one', async () => {
    const [orgA, orgB] = [randomUUID(), randomUUID()];
    const withoutId = personOf(orgA, {});
    await Promise.all([
      people.insert(personOf(orgA, { customId: 'D-42' })),
      people.insert(withoutId),
      people.insert(personOf(orgA, {})),
      people.insert(personOf(orgB, { customId: 'D-42' })),
    ]);
    expect(isDuplicateKey(await rejection(people.insert(personOf(orgA, { customId: 'D-42' }))))).to.equal(true);
    const taken = applyChanges(withoutId, { customId: 'D-42' }, staff(orgA), new Date())!;
    expect(isDuplicateKey(await rejection(people.replace(orgA, taken, withoutId.revision)))).to.equal(true);
  });

  describe('search', () => {
    const org = randomUUID();
    const other = randomUUID();
    const seeded: Record<string, PersonDoc> = {
      lucas: personOf(org, { lastName: 'Pierre', firstName: 'Lucas', birthDate: '1976-10-03', customId: '3' }),
      anne: personOf(org, { lastName: 'Pièrre', firstName: 'Anne' }),
      jeanPierre: personOf(org, { lastName: 'Martin', firstName: 'Jean-Pierre' }),
      emilie: personOf(org, { lastName: 'Dupont', firstName: 'Émilie', usageName: 'Lapierre' }),
      awa: personOf(org, { lastName: "N'Diaye", firstName: 'Awa', birthDate: '1976-10-03' }),
      paul: personOf(other, { lastName: 'Pierre', firstName: 'Paul' }),
    };
    const find = async (orgId: string, criteria: Record<string, unknown>) => {
      const query = peopleQuery(parseInput(searchPeopleInput, criteria));
      return page(await people.searchPeople(orgId, query), query.limit, toPerson);
    };
    const names = async (orgId: string, criteria: Record<string, unknown>) => (await find(orgId, criteria)).items.map((p) => `${p.firstName} ${p.lastName}`);

    before(async () => {
      await Promise.all(Object.values(seeded).map((doc) => people.insert(doc)));
    });

    it('finds "pier" in any name, whatever the case and accents, sorted by last then first name', async () => {
      expect(await names(org, { name: 'pier' })).to.deep.equal(['Jean-Pierre Martin', 'Anne Pièrre', 'Lucas Pierre']);
      expect(await names(org, { name: 'PIÈR' })).to.deep.equal(['Jean-Pierre Martin', 'Anne Pièrre', 'Lucas Pierre']);
      expect(await names(org, { name: 'lapi' })).to.deep.equal(['Émilie Dupont']);
    });

    it('needs every word to match, and finds a name with an apostrophe however it is typed', async () => {
      expect(await names(org, { name: 'pierre lu' })).to.deep.equal(['Lucas Pierre']);
      expect(await names(org, { name: 'ndia' })).to.deep.equal(["Awa N'Diaye"]);
      expect(await names(org, { name: "n'diaye a" })).to.deep.equal(["Awa N'Diaye"]);
    });

    it('finds by exact customId and birth date, alone or with a name', async () => {
      expect(await names(org, { customId: '3' })).to.deep.equal(['Lucas Pierre']);
      expect(await names(org, { birthDate: '1976-10-03' })).to.deep.equal(["Awa N'Diaye", 'Lucas Pierre']);
      expect(await names(org, { birthDate: '1976-10-03', name: 'pier' })).to.deep.equal(['Lucas Pierre']);
    });

    it("never shows another org's people", async () => {
      expect(await names(other, { name: 'pier' })).to.deep.equal(['Paul Pierre']);
      expect(await names(other, { customId: '3' })).to.deep.equal([]);
      expect(await people.byId(other, seeded.lucas._id)).to.equal(null);
    });

    it('pages through the org in name order', async () => {
      const first = await find(org, { limit: 2 });
      const second = await find(org, { limit: 2, cursor: first.nextCursor });
      const third = await find(org, { limit: 2, cursor: second.nextCursor });
      const all = [...first.items, ...second.items, ...third.items].map((p) => p.lastName);
      expect(all).to.deep.equal(['Dupont', 'Martin', "N'Diaye", 'Pièrre', 'Pierre']);
      expect(third.nextCursor).to.equal(null);
    });

    it('finds a name longer than the stored prefixes by the whole word typed, and by a single letter', async () => {
      const elsewhere = randomUUID();
      await people.insert(personOf(elsewhere, { lastName: 'Wolfeschlegelsteinhausenbergerdorff', firstName: 'Hubert' }));
      await people.insert(personOf(elsewhere, { lastName: 'Wolfeschlegelsteinhausenbach', firstName: 'Anna' }));
      expect(await names(elsewhere, { name: 'Wolfeschlegelsteinhausenberger' })).to.deep.equal(['Hubert Wolfeschlegelsteinhausenbergerdorff']);
      expect(await names(elsewhere, { name: 'wolfeschlegelsteinhausen' })).to.have.length(2);
      expect(await names(elsewhere, { name: 'wolfeschlegelsteinhausenbergerx' })).to.deep.equal([]);
      expect(await names(elsewhere, { name: 'h wolfeschlegelsteinhausenb' })).to.deep.equal(['Hubert Wolfeschlegelsteinhausenbergerdorff']);
      expect(await names(elsewhere, { name: 'a' })).to.deep.equal(['Anna Wolfeschlegelsteinhausenbach']);
    });

    it('does not take a company of the org for a person', async () => {
      const company = { ...personOf(org, { lastName: 'Pierre & Fils' }), _id: randomUUID(), kind: 'company' };
      await db.collection('parties').insertOne({ ...company, customIdKey: `id:${company._id}` } as never);
      expect(await people.ofKind(org, 'person', company._id)).to.equal(null);
      expect(await names(org, { name: 'pierre fils' })).to.deep.equal([]);
    });
  });

  describe('search keys backfill', () => {
    const org = randomUUID();
    const names = async (criteria: Record<string, unknown>) =>
      (await people.searchPeople(org, peopleQuery(parseInput(searchPeopleInput, criteria)))).map((p) => `${p.firstName} ${p.lastName}`);

    it('gives the parties stored with older keys the current ones, once, and leaves current ones alone', async () => {
      // As stored before prefixes were: whole words only, no searchVersion (and one at version 1).
      const { searchVersion: _, ...curie } = { ...personOf(org, { lastName: 'Curie', firstName: 'Marie' }), searchKeys: ['curie', 'marie'] };
      const joliot = { ...personOf(org, { lastName: 'Joliot', firstName: 'Irène' }), searchKeys: ['joliot', 'irene'], searchVersion: 1 };
      // Written by current code: its keys are not recomputed (these ones would be, were they stale).
      const current = { ...personOf(org, { lastName: 'Langevin', firstName: 'Paul' }), searchKeys: ['langevin', 'paul', 'lan'] };
      await db.collection('parties').insertMany([curie, joliot, current] as never[]);
      expect(await names({ name: 'cur' })).to.deep.equal([]);

      expect(await people.backfillSearchKeys(1)).to.equal(2);
      expect(await names({ name: 'cur' })).to.deep.equal(['Marie Curie']);
      expect(await names({ name: 'ma cu' })).to.deep.equal(['Marie Curie']);
      expect(await names({ name: 'IRÈ' })).to.deep.equal(['Irène Joliot']);
      expect(await names({ name: 'lang' })).to.deep.equal([]);
      const stored = (await people.byId(org, curie._id))!;
      expect(stored).to.include({ searchVersion: SEARCH_VERSION, revision: curie.revision, lastName: 'Curie' });
      expect((await people.byId(org, current._id))!.searchKeys).to.deep.equal(['langevin', 'paul', 'lan']);

      expect(await people.backfillSearchKeys(10)).to.equal(0);
    });
  });

  describe('update', () => {
    const org = randomUUID();
    const editor = staff(org);

    it('writes a change only over the revision it was computed from, and redoes a stale one on the current file', async () => {
      const doc = personOf(org, { lastName: 'Curie', firstName: 'Marie' });
      await people.insert(doc);
      const usage = applyChanges(doc, { usageName: 'Sklodowska' }, editor, new Date())!;
      const place = applyChanges(doc, { birthPlace: 'Varsovie' }, editor, new Date())!;
      expect(await people.replace(org, usage, doc.revision)).to.equal(true);
      expect(await people.replace(org, place, doc.revision)).to.equal(false);
      const updated = await people.update(org, 'person', doc._id, (current) => applyChanges(current, { birthPlace: 'Varsovie' }, editor, new Date()));
      expect(updated).to.include({ usageName: 'Sklodowska', birthPlace: 'Varsovie', revision: 3 });
      const stored = (await people.byId(org, doc._id))!;
      expect(stored).to.include({ usageName: 'Sklodowska', birthPlace: 'Varsovie', revision: 3, kind: 'person' });
      expect(stored.searchKeys).to.include('sklodowska');
    });

    it("changes nothing in another org's file", async () => {
      const doc = personOf(org, {});
      await people.insert(doc);
      expect(await people.update(randomUUID(), 'person', doc._id, (c) => applyChanges(c, { lastName: 'X' }, editor, new Date()))).to.equal(null);
    });
  });
});
