import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase, makeEnvelope, type BaseConfig } from '@relais/shared';
import { dropTestDatabases, testConfig, uniqueNamespace } from '@relais/testing';
import { Drafts, type DraftDoc } from '../src/data/drafts';
import { Exchanges } from '../src/data/exchanges';
import { SettingsRepo } from '../src/data/settings';
import { DEFAULT_SETTINGS } from '../src/domain/settings';
import { exchangeDoc } from './fixtures';

/** The exchanges service's drafts, settings and e-mail statuses against the real database. */
describe('exchanges: drafts, settings and e-mail statuses (real database)', function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let drafts: Drafts;
  let exchanges: Exchanges;
  let settings: SettingsRepo;
  const event = (orgId: string) =>
    makeEnvelope('mail.handedOver', orgId, { personId: 'p', mailItemIds: ['m'], handedOverAt: new Date().toISOString(), handedOverBy: 'u' });

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'exchanges');
    drafts = Drafts.open(db);
    exchanges = Exchanges.open(db);
    settings = SettingsRepo.open(db);
    await Promise.all([drafts.init(), exchanges.init()]);
  });

  after(async () => {
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it("keeps each user's drafts to that user: listed, changed, removed once", async () => {
    const orgId = randomUUID();
    const [a, b] = [randomUUID(), randomUUID()];
    const draft = (userId: string, requestId: string, at: string): DraftDoc => ({
      _id: randomUUID(),
      orgId,
      requestId,
      userId,
      receivedBy: 1,
      to: null,
      subject: null,
      detail: 'Bonjour',
      createdAt: new Date(at),
      updatedAt: new Date(at),
    });
    const [r1, r2] = [randomUUID(), randomUUID()];
    const first = await drafts.insertNew(draft(a, r1, '2026-12-01T09:00:00Z'));
    const second = await drafts.insertNew(draft(a, r2, '2026-12-01T10:00:00Z'));
    await drafts.insertNew(draft(b, r1, '2026-12-01T11:00:00Z'));
    // The same id again (a retried save) is the stored draft.
    expect((await drafts.insertNew({ ...first, detail: 'autre' })).detail).to.equal('Bonjour');
    expect((await drafts.ofUser(orgId, a)).map((d) => d._id)).to.deep.equal([second._id, first._id]);
    expect((await drafts.ofUser(orgId, a, r1)).map((d) => d._id)).to.deep.equal([first._id]);
    expect(await drafts.mine(orgId, b, first._id)).to.equal(null);
    expect(await drafts.mine(randomUUID(), a, first._id)).to.equal(null);
    await drafts.save({ ...first, detail: 'Bonjour, voici', updatedAt: new Date('2026-12-01T12:00:00Z') });
    expect((await drafts.mine(orgId, a, first._id))?.detail).to.equal('Bonjour, voici');
    expect(await drafts.remove(orgId, b, first._id)).to.equal(false);
    expect(await drafts.remove(orgId, a, first._id)).to.equal(true);
    expect(await drafts.remove(orgId, a, first._id)).to.equal(false);
  });

  it("answers the defaults until an org saves its settings, and each org's own after", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await settings.of(a)).to.deep.equal(DEFAULT_SETTINGS);
    const mine = { ...DEFAULT_SETTINGS, deleteWindowMinutes: 5, types: [{ id: 'reminder', label: 'Relance' }] };
    await settings.save(a, mine, 'u1');
    expect(await SettingsRepo.open(db).of(a)).to.deep.equal(mine);
    expect(await settings.of(b)).to.deep.equal(DEFAULT_SETTINGS);
  });

  it("moves an e-mail's status only forward, and lists those still sending, oldest first", async () => {
    const orgId = randomUUID();
    const old = new Date(Date.now() - 600_000);
    const mail = (createdAt: Date) =>
      exchangeDoc({
        orgId,
        createdAt,
        emailDelivery: { deliveryId: `d-${randomUUID()}`, messageId: `<${randomUUID()}@x>`, status: 'sending', updatedAt: createdAt },
      });
    const [a, b, fresh] = [mail(new Date(old.getTime() - 1000)), mail(old), mail(new Date())];
    for (const x of [a, b, fresh]) await exchanges.insertNew(x, event(orgId));
    const stuck = (await exchanges.stillSending(new Date(Date.now() - 60_000), 1000)).filter((x) => x.orgId === orgId).map((x) => x._id);
    expect(stuck).to.deep.equal([a._id, b._id]);

    const at = new Date();
    expect(await exchanges.setEmailStatus(orgId, a._id, 'sent', at)).to.equal(true);
    // A late "failed" (a repeated or reordered event) finds it past sending.
    expect(await exchanges.setEmailStatus(orgId, a._id, 'failed', at, 'x')).to.equal(false);
    expect(await exchanges.setEmailStatus(orgId, a._id, 'bounced', at, 'bounced: 550')).to.equal(true);
    expect((await exchanges.get(orgId, a._id))?.emailDelivery).to.include({ status: 'bounced', error: 'bounced: 550' });
    expect(await exchanges.setEmailStatus(orgId, b._id, 'failed', at, 'refused')).to.equal(true);
    expect(await exchanges.setEmailStatus(orgId, b._id, 'bounced', at)).to.equal(false);
    // Another org's id moves nothing.
    expect(await exchanges.setEmailStatus(randomUUID(), fresh._id, 'sent', at)).to.equal(false);
    expect((await exchanges.stillSending(new Date(Date.now() - 60_000), 1000)).filter((x) => x.orgId === orgId)).to.deep.equal([]);
  });
});
