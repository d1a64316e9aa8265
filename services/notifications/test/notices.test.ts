import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase, type BaseConfig } from '@relais/shared';
import { dropTestDatabases, testConfig, uniqueNamespace } from '@relais/testing';
import { StaffNotices, type NoticeDoc } from '../src/staff/notices';

/** Collaborators' notifications against the real database. */
describe("notifications: collaborators' notices (real database)", function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let notices: StaffNotices;

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'notifications');
    notices = StaffNotices.open(db);
    await notices.init();
  });

  after(async () => {
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  const notice = (orgId: string, userId: string, at: string): NoticeDoc => ({
    _id: randomUUID(),
    orgId,
    userId,
    reason: 'team',
    requestId: randomUUID(),
    requestNumber: 'DIT-00001',
    title: 'Fuite',
    exchangeId: randomUUID(),
    origin: 'portal',
    subject: null,
    preview: 'Le gardien sera là.',
    deliveryId: null,
    createdAt: new Date(at),
    readAt: null,
  });

  it("stores each notice once, lists a user's latest first, and marks them read or unread for that user only", async () => {
    const orgId = randomUUID();
    const [u1, u2] = [randomUUID(), randomUUID()];
    const a = notice(orgId, u1, '2026-12-01T09:00:00Z');
    const b = notice(orgId, u1, '2026-12-01T10:00:00Z');
    expect(await notices.insertNew([a, b, notice(orgId, u2, '2026-12-01T11:00:00Z')])).to.have.length(3);
    // The same event redelivered: nothing new.
    expect(await notices.insertNew([a])).to.deep.equal([]);
    expect((await notices.ofUser(orgId, u1, false, 50)).map((n) => n._id)).to.deep.equal([b._id, a._id]);
    expect(await notices.unread(orgId, u1)).to.equal(2);

    const at = new Date('2026-12-01T12:00:00Z');
    expect((await notices.mark(orgId, u1, a._id, true, at))?.readAt).to.deep.equal(at);
    expect((await notices.ofUser(orgId, u1, true, 50)).map((n) => n._id)).to.deep.equal([b._id]);
    expect(await notices.unread(orgId, u1)).to.equal(1);
    // Marked read twice: the first time stays.
    expect((await notices.mark(orgId, u1, a._id, true, new Date()))?.readAt).to.deep.equal(at);
    expect((await notices.mark(orgId, u1, a._id, false, new Date()))?.readAt).to.equal(null);
    expect(await notices.mark(orgId, u2, a._id, true, at)).to.equal(null);
    expect(await notices.mark(randomUUID(), u1, a._id, true, at)).to.equal(null);
  });
});
