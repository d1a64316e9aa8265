import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase, makeEnvelope, type BaseConfig, type DurableEvents, type Envelope } from '@relais/shared';
import { dropTestDatabases, testConfig, uniqueNamespace } from '@relais/testing';
import type { DeliveryLedger } from '../src/delivery/ledger';
import { assignLots, newLot, sendItem } from '../src/delivery/lot';
import { SendLots } from '../src/delivery/lots';
import { outcomeEventId } from '../src/delivery/outcomes';
import { DeliveryRows } from '../src/delivery/rows';
import { initStores, openStores, wireParts, type Stores } from '../src/engine';
import type { PendingMail } from '../src/planning/pendingMail';
import type { Recipients } from '../src/planning/recipients';
import type { Claims } from '../src/sending/claims';
import type { SettingsRepo } from '../src/settings/repo';
import { contactDelivery, reminderDelivery } from '../src/planning/deliveries';
import type { OrgSettings } from '../src/settings/settings';
import type { SenderOptions } from '../src/sending/options';
import { toDelivery } from '../src/views';
import { MemoryProvider, ProviderError, TestClock } from '@relais/testing/notifications';

const quiet = { warn: () => undefined };

/**
 * The send engine over the real database, one pass at a time: lots of a slot, the re-check at send
 * time, and what the reconciler does after a sender died.
 */
describe('notifications: send lots (real database)', function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let stores: Stores;
  // The ledger, and its rows and lots for what the tests set up or look at below its face.
  let ledger: DeliveryLedger;
  let deliveries: DeliveryRows;
  let lots: SendLots;
  let recipients: Recipients;
  let claims: Claims;
  let pending: PendingMail;
  let settings: SettingsRepo;
  // Tuesday 16 June 2026, 19:00 in Paris is the slot.
  const slot = new Date('2026-06-16T17:00:00Z');
  const clock = new TestClock(new Date('2026-06-16T17:00:01Z'));

  const engine = (provider: MemoryProvider, lotSize = 2, sending: Partial<SenderOptions> = {}) => {
    const owner = `t-${randomUUID().slice(0, 6)}`;
    // As in the service: the lots the scheduler writes are offered to the sender of the same instance.
    const { scheduler, sender, reconciler } = wireParts(
      stores,
      { providers: { sms: provider, email: new MemoryProvider() }, rate: null, clock, log: quiet },
      {
        scheduler: { owner, leaseMs: 60_000, maxLatenessMs: 3600_000, lotSize },
        sender: {
          owner,
          concurrency: 2,
          ratePerSecond: 0,
          retryBaseMs: 1_000,
          maxAttempts: 3,
          maxBatchMs: 10_000,
          stuckAfterMs: 30_000,
          applyAfterIdleMs: 0,
          maxPendingResults: 50,
          ...sending,
        },
        reconciler: { owner, stuckAfterMs: 30_000, unfinishedAfterMs: 600_000 },
        settingsCacheMs: 0,
      },
    );
    return { scheduler, sender, reconciler };
  };

  /** An org with SMS on and one letter for each person, who all accepted SMS. */
  const orgWithMail = async (phones: string[]) => {
    const orgId = randomUUID();
    const org: OrgSettings = {
      orgId,
      smsEnabled: true,
      senderId: 'CCAS',
      signature: 'CCAS',
      sendDays: [2, 4],
      timeZone: 'Europe/Paris',
      templates: {},
      defaultWording: 'standard',
      version: 1,
      updatedAt: null,
      updatedBy: null,
    };
    await settings.save(org);
    const people = phones.map(() => randomUUID());
    const at = new Date('2026-06-15T09:00:00Z');
    await recipients.applyConsents(
      people.map((personId, i) =>
        makeEnvelope('domiciliation.smsConsentChanged', orgId, {
          personId,
          consent: true,
          phoneE164: phones[i],
          region: 'FR',
          changedAt: at.toISOString(),
          changedBy: 'u',
        }),
      ),
      at,
    );
    await pending.applyRegistered(
      people.map((personId) =>
        makeEnvelope('mail.registered', orgId, {
          mailItemId: randomUUID(),
          personId,
          kind: 'letter',
          quantity: 1,
          registeredAt: at.toISOString(),
          registeredBy: 'u',
        }),
      ),
    );
    return { org, people };
  };
  const statusOf = async (orgId: string, personId: string) => (await ledger.history(orgId, personId, 5))[0];

  /** Where the deliveries' outbox publishes delivery.outcome: kept here; `failNext` publishes fail (NATS down). */
  const bus = {
    published: [] as Envelope[],
    failNext: 0,
    publish(events: readonly Envelope[]) {
      if (this.failNext > 0 && this.failNext--) return Promise.reject(new Error('NATS unavailable'));
      this.published.push(...events);
      return Promise.resolve();
    },
  };
  const outcomesOf = (deliveryId: string) =>
    bus.published.filter(
      (e) => e.type === 'delivery.outcome' && (e as Envelope<'delivery.outcome'>).data.deliveryId === deliveryId,
    ) as Envelope<'delivery.outcome'>[];

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'notifications');
    // Intents are the sweep's at once: a test calls the sweep itself.
    stores = openStores(db, { DB_UPDATE_BATCH: 50, STUCK_AFTER_MS: 30_000 }, { events: bus as unknown as DurableEvents, dbTimeoutMs: 20_000, sweepAfterMs: 0 });
    await initStores(stores);
    ({ ledger, recipients, claims, pending, settings } = stores);
    deliveries = DeliveryRows.open(db);
    lots = SendLots.open(db);
  });

  after(async () => {
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('reads the recipients of a large slot in one pass of the org, with the same answers as by lists', async () => {
    const orgId = randomUUID();
    const other = randomUUID();
    const at = new Date('2026-06-15T09:00:00Z');
    const people = Array.from({ length: 1_100 }, () => randomUUID());
    // Every fourth person refused SMS, every fourth has no consent record; one person of another org.
    // Both ways (one pass from 1,000 people on, lists below) leave out all three.
    const consent = (personId: string, i: number, org = orgId) =>
      makeEnvelope('domiciliation.smsConsentChanged', org, {
        personId,
        consent: i % 4 !== 1,
        phoneE164: i % 4 === 1 ? null : `+336${String(i).padStart(8, '0')}`,
        region: 'FR',
        changedAt: at.toISOString(),
        changedBy: 'u',
      });
    const stranger = randomUUID();
    await recipients.applyConsents([...people.flatMap((p, i) => (i % 4 === 3 ? [] : [consent(p, i)])), consent(stranger, 0, other)], at);

    const all = await recipients.forPeople(orgId, [...people, stranger]);
    const byLists = new Map<string, unknown>();
    for (let i = 0; i < people.length; i += 500) {
      for (const [p, r] of await recipients.forPeople(orgId, [...people.slice(i, i + 500), stranger])) byLists.set(p, r);
    }
    const expected = (i: number) => (i % 4 === 0 || i % 4 === 2 ? { consent: true, phoneE164: `+336${String(i).padStart(8, '0')}` } : undefined);
    people.forEach((p, i) => expect(all.get(p), `person ${i}`).to.deep.equal(expected(i)));
    expect(all.has(stranger)).to.equal(false);
    expect(all.size).to.equal(550);
    expect(byLists).to.deep.equal(all);
  });

  it('puts the deliveries to send into lots in id order, the first ones smaller; closed ones get none (pure)', () => {
    const doc = (id: string, status: 'pending' | 'skipped') => ({ _id: id, status, dueAt: slot }) as never;
    const { docs, lots: made } = assignLots(
      'digest:o:s',
      'o',
      [doc('c', 'pending'), doc('a', 'pending'), doc('x', 'skipped'), doc('b', 'pending')],
      2,
      slot,
      slot,
    );
    expect(made.map((l) => l._id)).to.deep.equal(['digest:o:s:0', 'digest:o:s:1']);
    expect(docs.map((d) => [d._id, d.lot])).to.deep.equal([
      ['c', 'digest:o:s:1'],
      ['a', 'digest:o:s:0'],
      ['x', null],
      ['b', 'digest:o:s:0'],
    ]);
    expect(made[0]).to.include({ state: 'ready', attempt: 1, round: 0, recover: false });
    // 500 a lot: 63, 125, 250, then 500s; 120 a lot: 50 at least. The same input gives the same lots.
    const many = Array.from({ length: 1_500 }, (_, i) => doc(`d${String(i).padStart(4, '0')}`, 'pending'));
    const sizes = (lots: ReturnType<typeof assignLots>) => lots.lots.map((l) => lots.docs.filter((d) => d.lot === l._id).length);
    expect(sizes(assignLots('p', 'o', many, 500, slot, slot))).to.deep.equal([63, 125, 250, 500, 500, 62]);
    expect(sizes(assignLots('p', 'o', many.slice(0, 400), 120, slot, slot))).to.deep.equal([50, 50, 60, 120, 120]);
    expect(assignLots('p', 'o', [...many].reverse(), 500, slot, slot).docs.find((d) => d._id === 'd0100')?.lot).to.equal('p:1');
  });

  it('sends nothing twice when a slot is processed again with another lot size', async () => {
    const provider = new MemoryProvider();
    const first = engine(provider, 2);
    const { org } = await orgWithMail(['+33647000001', '+33647000002', '+33647000003', '+33647000004', '+33647000005']);
    expect(await first.scheduler.digest(org, slot, clock.now())).to.equal(5);
    while ((await first.sender.runOnce()) > 0);
    expect(provider.sent).to.have.length(5);
    // Another instance, configured with lots of 1, takes the slot over: lots 3 and 4 are new, their rows are not.
    const second = engine(provider, 1);
    expect(await second.scheduler.digest(org, slot, clock.now())).to.equal(0);
    while ((await second.sender.runOnce()) > 0);
    expect(provider.sent).to.have.length(5);
  });

  it('sends the lots its own scheduler has just written first, then the ready lots', async () => {
    const provider = new MemoryProvider();
    const { scheduler, sender } = engine(provider, 10);
    const elsewhere = await orgWithMail(['+33648000001']);
    await engine(provider, 10).scheduler.digest(elsewhere.org, slot, clock.now()); // another instance's lot
    const { org } = await orgWithMail(['+33648000002']);
    await scheduler.digest(org, slot, clock.now());
    expect(await sender.sendDue()).to.equal(1);
    expect(provider.sent.map((m) => m.to)).to.deep.equal(['+33648000002']);
    await sender.sendDue();
    expect(provider.sent.map((m) => m.to)).to.include('+33648000001');
    expect(provider.sent.filter((m) => m.to === '+33648000002')).to.have.length(1);
    while ((await sender.runOnce()) > 0); // its results applied: none left pending for the next tests
  });

  it('hands what a lot has not started by its deadline (counted from its claim) to a lot due at once; nothing lost, nothing twice', async () => {
    class SlowProvider extends MemoryProvider {
      override async send(message: Parameters<MemoryProvider['send']>[0]) {
        await new Promise((r) => setTimeout(r, 40));
        return super.send(message);
      }
    }
    const provider = new SlowProvider();
    const { scheduler, sender } = engine(provider, 60, { maxBatchMs: 100 });
    const phones = Array.from({ length: 12 }, (_, i) => `+336470100${String(i).padStart(2, '0')}`);
    const { org } = await orgWithMail(phones);
    await scheduler.digest(org, slot, clock.now());
    while ((await sender.runOnce()) > 0);
    expect(provider.sent.map((m) => m.to)).to.have.members(phones);
    const lotsOf = await db.collection('deliveries').distinct('lot', { orgId: org.orgId });
    expect(lotsOf.some((l) => String(l).includes('/d0'))).to.equal(true); // some went through the follow-up lot
    expect(await ledger.counts(org.orgId, {})).to.deep.equal({ queued: 12 });
  });

  it('ends a pass after 20 lots, leaving the rest for the next pass, so the cap on pending results is checked', async () => {
    const provider = new MemoryProvider();
    const { scheduler, sender } = engine(provider, 1, { applyAfterIdleMs: 3600_000, maxPendingResults: 2 });
    const { org } = await orgWithMail(Array.from({ length: 25 }, (_, i) => `+336471100${String(i).padStart(2, '0')}`));
    await scheduler.digest(org, slot, clock.now());
    expect(await sender.runOnce()).to.equal(20);
    expect(await db.collection('lot_results').countDocuments({ orgId: org.orgId })).to.equal(2);
    expect(await sender.runOnce()).to.equal(5);
    expect(await db.collection('lot_results').countDocuments({ orgId: org.orgId })).to.equal(2);
    expect(provider.sent).to.have.length(25);
    await ledger.settle('cleanup', new Date(clock.now().getTime() + 1), 100); // none left pending for the next tests
  });

  it('re-checks consent and number at send time: a withdrawal or a new number after the lots were written is honoured', async () => {
    const provider = new MemoryProvider();
    const { scheduler, sender } = engine(provider);
    const { org, people } = await orgWithMail(['+33611000001', '+33611000002', '+33611000003', '+33611000004', '+33611000005']);
    expect(await scheduler.digest(org, slot, clock.now())).to.equal(5);
    // After the slot's lots were written: person 0 withdraws, person 1 has a new number.
    const later = new Date('2026-06-16T17:00:02Z');
    await recipients.applyConsents(
      [
        makeEnvelope('domiciliation.smsConsentChanged', org.orgId, {
          personId: people[0],
          consent: false,
          phoneE164: null,
          region: 'FR',
          changedAt: later.toISOString(),
          changedBy: 'u',
        }),
        makeEnvelope('domiciliation.smsConsentChanged', org.orgId, {
          personId: people[1],
          consent: true,
          phoneE164: '+33699999999',
          region: 'FR',
          changedAt: later.toISOString(),
          changedBy: 'u',
        }),
      ],
      later,
    );
    while ((await sender.runOnce()) > 0);
    expect(provider.sent.map((m) => m.to)).to.have.members(['+33699999999', '+33611000003', '+33611000004', '+33611000005']);
    const withdrawn = await statusOf(org.orgId, people[0]);
    expect(withdrawn).to.include({ status: 'skipped' });
    expect(withdrawn.reason).to.match(/not accepted SMS notifications at send time/);
    // The row records the number it went to.
    expect(await statusOf(org.orgId, people[1])).to.include({ status: 'queued', to: '+33699999999' });
    const sent = await statusOf(org.orgId, people[2]);
    expect(sent).to.include({ status: 'queued', attempts: 1, provider: 'memory' });
    expect(sent.events.map((e) => e.status)).to.deep.equal(['pending', 'sending', 'queued']);
    // The slot again (a lease taken over): nothing new is written or sent.
    expect(await scheduler.digest(org, slot, clock.now())).to.equal(0);
    expect(await sender.runOnce()).to.equal(0);
    expect(provider.sent).to.have.length(4);
  });

  it('reopens the lot of a sender that died mid-lot: what reached the provider is recorded (even if consent was withdrawn since), the rest sent, nothing twice', async () => {
    const provider = new MemoryProvider();
    const { scheduler, sender, reconciler } = engine(provider, 10);
    const { org, people } = await orgWithMail(['+33622000001', '+33622000002', '+33622000003']);
    await scheduler.digest(org, slot, clock.now());
    const [lot] = await ledger.readyLots(clock.now(), 10).then((all) => all.filter((l) => l.orgId === org.orgId));
    // A sender claimed the lot, reached the provider for the first person, and died.
    await claims.claim([`send:${lot._id}:0`], 'dead', clock.now());
    const [first] = await deliveries.inLot(lot._id).then((ds) => ds.filter((d) => d.personId === people[0]));
    await provider.send({ deliveryId: first._id, channel: 'sms', to: first.to!, from: 'CCAS', body: first.content! });
    // The first person withdraws afterwards: the SMS already went out, and is recorded as such.
    const withdrawnAt = new Date(clock.now().getTime() + 1_000);
    await recipients.applyConsents(
      [
        makeEnvelope('domiciliation.smsConsentChanged', org.orgId, {
          personId: people[0],
          consent: false,
          phoneE164: null,
          region: 'FR',
          changedAt: withdrawnAt.toISOString(),
          changedBy: 'u',
        }),
      ],
      withdrawnAt,
    );

    expect(await sender.runOnce()).to.equal(0); // claimed by the dead sender
    await reconciler.runOnce(); // too early: the claim is fresh
    expect(await sender.runOnce()).to.equal(0);
    clock.set(new Date(clock.now().getTime() + 31_000));
    await reconciler.runOnce();
    expect(await sender.runOnce()).to.equal(3);
    expect(provider.sent.map((m) => m.to)).to.have.members(['+33622000001', '+33622000002', '+33622000003']);
    for (const personId of people) expect(await statusOf(org.orgId, personId)).to.include({ status: 'queued' });
    // Nothing left to send: the next pass applies the recorded outcomes to the rows, then nothing is left to do.
    expect(await sender.runOnce()).to.equal(3);
    expect(await sender.runOnce()).to.equal(0);
    expect(provider.sent).to.have.length(3);
  });

  it('records an attempt in one result that every status read applies until the rows catch up, and that nothing re-sends', async () => {
    const provider = new MemoryProvider();
    const { scheduler, sender, reconciler } = engine(provider, 10);
    const { org, people } = await orgWithMail(['+33644000001', '+33644000002']);
    await scheduler.digest(org, slot, clock.now());
    const [lot] = await ledger.readyLots(clock.now(), 10).then((all) => all.filter((l) => l.orgId === org.orgId));
    // A sender that sends the lot and records its outcomes, then dies before applying them to the rows.
    const dying = engine(provider, 10).sender;
    expect(await dying.sendDue()).to.equal(2);
    const rows = await db.collection('deliveries').find({ lot: lot._id }).toArray();
    expect(rows.map((r) => r.status)).to.deep.equal(['pending', 'pending']);
    expect(await db.collection('lot_results').countDocuments({ lot: lot._id })).to.equal(1);

    // Reads show what was recorded: the person's history, the ops list (with a status filter), the sender's view of the lot.
    const shown = await statusOf(org.orgId, people[0]);
    expect(shown).to.include({ status: 'queued', attempts: 1, provider: 'memory' });
    expect(shown.events.map((e) => e.status)).to.deep.equal(['pending', 'sending', 'queued']);
    expect(await ledger.page(org.orgId, { status: 'pending' }, 10)).to.deep.equal({ items: [], last: null });
    expect(await ledger.counts(org.orgId, {})).to.deep.equal({ queued: 2 });
    expect(await ledger.counts(org.orgId, { status: 'pending' })).to.deep.equal({});
    const queued = await ledger.page(org.orgId, { status: 'queued' }, 1);
    expect(queued.items.map((d) => d.status)).to.deep.equal(['queued']);
    const rest = await ledger.page(org.orgId, { status: 'queued' }, 1, { dueAt: queued.last!.dueAt, id: queued.last!._id });
    expect(rest).to.deep.include({ last: null });
    expect(rest.items.map((d) => d._id))
      .to.have.length(1)
      .and.not.include(queued.items[0]._id);
    const all = await ledger.page(org.orgId, {}, 1);
    expect(all.items.map((d) => d.status)).to.deep.equal(['queued']);
    expect(all.last?._id).to.equal(all.items[0]._id);
    expect(await deliveries.inLot(lot._id)).to.deep.equal([]);
    // Nor is anything sent again: not by the reconciler long after (the rows still say pending), nor by a reopened lot.
    clock.set(new Date(clock.now().getTime() + 31_000));
    await reconciler.runOnce();
    await ledger.reopen(lot);
    while ((await sender.sendDue()) > 0);
    expect(provider.sent).to.have.length(2);

    // The living instance applies the dead one's result once it is old enough; then the rows say it all.
    let covered = 0;
    for (let n = await sender.runOnce(); n > 0; n = await sender.runOnce()) covered += n;
    expect(covered).to.be.at.least(2);
    const applied = await db.collection('deliveries').find({ lot: lot._id }).toArray();
    expect(applied.map((r) => r.status)).to.deep.equal(['queued', 'queued']);
    expect(applied[0].events.map((e: { status: string }) => e.status)).to.deep.equal(['pending', 'sending', 'queued']);
    expect(await db.collection('lot_results').countDocuments({ orgId: org.orgId })).to.equal(0);
    expect(await statusOf(org.orgId, people[1])).to.include({ status: 'queued' });
    expect(provider.sent).to.have.length(2);
  });

  it('takes a provider callback that comes before the result is applied, with all the attempt says', async () => {
    const provider = new MemoryProvider();
    const { scheduler, sender } = engine(provider, 10);
    const { org, people } = await orgWithMail(['+33649000001']);
    await scheduler.digest(org, slot, clock.now());
    expect(await engine(provider, 10).sender.sendDue()).to.equal(1); // recorded by an instance that then dies
    const [{ providerId, deliveryId }] = provider.sent;
    expect(await db.collection('provider_messages').countDocuments({ _id: providerId as never })).to.equal(0);
    const at = new Date(clock.now().getTime() + 5_000);
    // Unknown message ids are refused, named delivery or not; the real one moves the row past the result.
    expect(await ledger.providerStatus({ providerId: 'MEM-forged', deliveryId }, 'delivered', at)).to.equal(false);
    expect(await ledger.providerStatus({ providerId }, 'delivered', at)).to.equal(false);
    expect(await ledger.providerStatus({ providerId, deliveryId }, 'queued', at)).to.equal(false); // the result says as much
    expect(await ledger.providerStatus({ providerId, deliveryId }, 'delivered', at)).to.equal(true);
    const row = await db.collection('deliveries').findOne({ _id: deliveryId as never });
    expect(row).to.include({ status: 'delivered', provider: 'memory', attempts: 1 });
    expect(row!.events.map((e: { status: string }) => e.status)).to.deep.equal(['pending', 'sending', 'queued', 'delivered']);
    expect(await ledger.providerStatus({ providerId, deliveryId }, 'sent', at)).to.equal(false);

    // Applying the result later changes nothing on the row, and records the message id.
    clock.set(new Date(clock.now().getTime() + 31_000));
    while ((await sender.runOnce()) > 0);
    const applied = await db.collection('deliveries').findOne({ _id: deliveryId as never });
    expect(applied!.events.map((e: { status: string }) => e.status)).to.deep.equal(['pending', 'sending', 'queued', 'delivered']);
    expect(await db.collection('provider_messages').findOne({ _id: providerId as never })).to.include({ deliveryId });
    expect(await ledger.providerStatus({ providerId }, 'undelivered', new Date(clock.now().getTime())).then(() => statusOf(org.orgId, people[0]))).to.include({
      status: 'delivered',
    });
  });

  it('shows the same counts and list while a result is applied to the rows as before and after', async () => {
    const provider = new MemoryProvider();
    const size = 50;
    const { scheduler } = engine(provider, size);
    const { org } = await orgWithMail(Array.from({ length: size }, (_, i) => `+3364500${String(i).padStart(4, '0')}`));
    await scheduler.digest(org, slot, clock.now());
    const dying = engine(provider, size).sender;
    expect(await dying.sendDue()).to.equal(size);
    expect(await db.collection('lot_results').countDocuments({ orgId: org.orgId })).to.equal(1);

    // The rows are written one by one on some backends: reads racing the application see every instant of it.
    const seen: unknown[] = [];
    let applying = true;
    const applied = ledger.settle('anyone', new Date(clock.now().getTime() + 1), 10).finally(() => (applying = false));
    while (applying || seen.length < 3) {
      const [counts, pendingCount, list] = await Promise.all([
        ledger.counts(org.orgId, {}),
        ledger.counts(org.orgId, { status: 'pending' }),
        ledger.page(org.orgId, { status: 'queued' }, size),
      ]);
      seen.push({ counts, pendingCount, listed: list.items.length });
    }
    expect(await applied).to.equal(size);
    expect(await db.collection('lot_results').countDocuments({ orgId: org.orgId })).to.equal(0);
    for (const s of seen) expect(s).to.deep.equal({ counts: { queued: size }, pendingCount: {}, listed: size });
  });

  it('keeps at most its cap of results pending while it is kept busy, applying the oldest first', async () => {
    // Each message a second after the one before, so that the results are recorded in a known order.
    class TickingProvider extends MemoryProvider {
      override async send(message: Parameters<MemoryProvider['send']>[0]) {
        clock.set(new Date(clock.now().getTime() + 1_000));
        return super.send(message);
      }
    }
    const provider = new TickingProvider();
    const { scheduler, sender } = engine(provider, 1, { applyAfterIdleMs: 3600_000, maxPendingResults: 2 });
    const { org } = await orgWithMail(['+33646000001', '+33646000002', '+33646000003', '+33646000004', '+33646000005']);
    await scheduler.digest(org, slot, clock.now());
    // Never idle long enough to apply: only the cap makes it apply.
    let sent = 0;
    for (let n = await sender.runOnce(); n > 0; n = await sender.runOnce()) sent += n;
    expect(sent).to.equal(5);
    const pendingResults = await db.collection('lot_results').find({ orgId: org.orgId }).toArray();
    expect(pendingResults).to.have.length(2);
    const rows = await db.collection('deliveries').find({ orgId: org.orgId }).toArray();
    const lotTo = new Map(rows.map((r) => [r.to, r.lot]));
    // The two lots sent last are the ones left pending; the rows of the three before are written.
    const sentLots = provider.sent.map((m) => lotTo.get(m.to));
    expect(pendingResults.map((r) => r.lot)).to.have.members(sentLots.slice(-2));
    expect(rows.filter((r) => r.status === 'queued').map((r) => r.lot)).to.have.members(sentLots.slice(0, 3));
    expect(rows.filter((r) => r.status === 'pending')).to.have.length(2);
    expect(await ledger.counts(org.orgId, {})).to.deep.equal({ queued: 5 });
  });

  it('an ended domiciliation cancels a reminder not sent yet, not one whose sending is recorded but not yet applied', async () => {
    const orgId = randomUUID();
    const [sentTo, notYet] = [randomUUID(), randomUUID()];
    const sending = { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS', render: () => 'Bonjour', now: clock.now(), maxLatenessMs: 3600_000 };
    const reminder = (personId: string, lot: string) => ({
      ...reminderDelivery(orgId, personId, '2026-08-16', clock.now(), { consent: true, phoneE164: '+33655000001' }, sending),
      lot,
    });
    const [a, b] = [reminder(sentTo, 'lot-a'), reminder(notYet, 'lot-b')];
    await deliveries.insertNew([a, b]);
    const attempt = { lot: 'lot-a', orgId, round: 0, owner: 'other', attempt: 1, startedAt: clock.now() };
    await deliveries.recordAttempt(
      attempt,
      [{ id: a._id, kind: 'accepted', status: 'queued', provider: 'memory', providerId: `SM${randomUUID()}` }],
      clock.now(),
    );

    for (const personId of [sentTo, notYet]) {
      await ledger.cancelReminders(orgId, personId, 'the domiciliation is ended', clock.now());
    }
    expect(await statusOf(orgId, notYet)).to.include({ status: 'cancelled', reason: 'the domiciliation is ended' });
    expect(await statusOf(orgId, sentTo)).to.include({ status: 'queued' });
    // Once applied, the row says the same.
    expect(await ledger.settle('other', clock.now(), 10)).to.be.at.least(1);
    expect(await db.collection('deliveries').findOne({ _id: a._id as never })).to.include({ status: 'queued' });
  });

  it('a lot sends what it was written with, unless one of its deliveries was cancelled since: then it reads the rows', async () => {
    const provider = new MemoryProvider();
    const { sender } = engine(provider, 10);
    const orgId = randomUUID();
    await settings.save({
      orgId,
      smsEnabled: true,
      senderId: 'CCAS',
      signature: 'CCAS',
      sendDays: [2, 4],
      timeZone: 'Europe/Paris',
      templates: {},
      defaultWording: 'standard',
      version: 1,
      updatedAt: null,
      updatedBy: null,
    });
    const sending = { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS', render: () => 'Bonjour', now: clock.now(), maxLatenessMs: 3600_000 };
    const write = async (personId: string, phone: string) => {
      const doc = {
        ...reminderDelivery(orgId, personId, '2026-08-16', clock.now(), { consent: true, phoneE164: phone }, sending),
        lot: `reminder-lot:${personId}`,
      };
      await deliveries.insertNew([doc]);
      await lots.insertNew([{ ...newLot(doc.lot, orgId, clock.now(), clock.now()), payload: JSON.stringify([sendItem(doc)]) }]);
      return doc;
    };
    const [kept, ended] = [randomUUID(), randomUUID()];
    await write(kept, '+33666000001');
    await write(ended, '+33666000002');
    expect((await lots.payload(`reminder-lot:${ended}`))?.map((i) => i.to)).to.deep.equal(['+33666000002']);
    // The domiciliation ends before the lot goes out: as the service does, the lot's payload goes first.
    await ledger.cancelReminders(orgId, ended, 'the domiciliation is ended', clock.now());
    expect(await lots.payload(`reminder-lot:${ended}`)).to.equal(null);
    while ((await sender.sendDue()) > 0);
    expect(provider.sent.map((m) => m.to)).to.deep.equal(['+33666000001']);
    expect(await statusOf(orgId, ended)).to.include({ status: 'cancelled' });
    expect(await statusOf(orgId, kept)).to.include({ status: 'queued' });
  });

  it('a lot read ahead while another is sent goes from the rows if one of its deliveries was cancelled meanwhile', async () => {
    const orgId = randomUUID();
    const [kept, ended] = [randomUUID(), randomUUID()];
    // The first call waits long enough for the next lot to be claimed and read, then the domiciliation of its person ends.
    class CancellingProvider extends MemoryProvider {
      override async send(message: Parameters<MemoryProvider['send']>[0]) {
        if (this.sent.length === 0) {
          await new Promise((r) => setTimeout(r, 300));
          await ledger.cancelReminders(orgId, ended, 'the domiciliation is ended', clock.now());
        }
        return super.send(message);
      }
    }
    const provider = new CancellingProvider();
    const { sender } = engine(provider, 10);
    await settings.save({
      orgId,
      smsEnabled: true,
      senderId: 'CCAS',
      signature: 'CCAS',
      sendDays: [2, 4],
      timeZone: 'Europe/Paris',
      templates: {},
      defaultWording: 'standard',
      version: 1,
      updatedAt: null,
      updatedBy: null,
    });
    const sending = { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS', render: () => 'Bonjour', now: clock.now(), maxLatenessMs: 3600_000 };
    const write = async (personId: string, phone: string, dueAt: Date) => {
      const doc = {
        ...reminderDelivery(orgId, personId, '2026-08-16', clock.now(), { consent: true, phoneE164: phone }, sending),
        lot: `reminder-lot:${personId}`,
      };
      await deliveries.insertNew([doc]);
      await lots.insertNew([{ ...newLot(doc.lot, orgId, dueAt, clock.now()), payload: JSON.stringify([sendItem(doc)]) }]);
    };
    await write(kept, '+33667000001', new Date(clock.now().getTime() - 60_000));
    await write(ended, '+33667000002', clock.now());
    while ((await sender.sendDue()) > 0);
    expect(provider.sent.map((m) => m.to)).to.deep.equal(['+33667000001']);
    expect(await statusOf(orgId, ended)).to.include({ status: 'cancelled' });
    while ((await sender.runOnce()) > 0); // its results applied: none left pending for the next tests
  });

  it('finds the stray deliveries for the reconciler past the many that a pending result settles', async () => {
    // A database of its own: strays are looked for across orgs.
    const own = testConfig(uniqueNamespace());
    const ownDb = await connectDatabase(own, 'notifications');
    try {
      const rows = DeliveryRows.open(ownDb);
      await rows.init();
      const orgId = randomUUID();
      const sending = { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS', render: () => 'Bonjour', now: clock.now(), maxLatenessMs: 3600_000 };
      const reminder = (lot: string | null) => ({
        ...reminderDelivery(orgId, randomUUID(), '2026-08-16', clock.now(), { consent: true, phoneE164: '+33668000001' }, sending),
        lot,
      });
      const sent = Array.from({ length: 5 }, () => reminder('lot-sent'));
      const stray = reminder(null);
      await rows.insertNew(sent);
      await rows.insertNew([stray]);
      const attempt = { lot: 'lot-sent', orgId, round: 0, owner: 'gone', attempt: 1, startedAt: clock.now() };
      await rows.recordAttempt(
        attempt,
        sent.map((d) => ({ id: d._id, kind: 'accepted', status: 'queued', provider: 'memory', providerId: `SM${randomUUID()}` })),
        clock.now(),
      );
      const later = new Date(clock.now().getTime() + 60_000);
      // Five settled rows come first in the collection; a limit of five still finds the stray.
      expect((await rows.unsent(later, 5)).map((d) => d._id)).to.deep.equal([stray._id]);
    } finally {
      await ownDb.close();
      await dropTestDatabases(own.MONGO_URL, own.RELAIS_NAMESPACE);
    }
  });

  it('gives deliveries whose lot was never written a lot of their own, which asks the provider first', async () => {
    const provider = new MemoryProvider();
    const { sender, reconciler } = engine(provider, 10);
    const { org, people } = await orgWithMail(['+33633000001', '+33633000002']);
    await engine(provider, 10).scheduler.digest(org, slot, clock.now());
    const [lot] = await ledger.readyLots(clock.now(), 10).then((all) => all.filter((l) => l.orgId === org.orgId));
    // As if that instance's scheduler died between the deliveries and their lot.
    await db.collection('send_lots').deleteOne({ _id: lot._id as never });
    expect(await sender.runOnce()).to.equal(0);
    clock.set(new Date(clock.now().getTime() + 31_000));
    await reconciler.runOnce();
    expect(await sender.runOnce()).to.equal(2);
    for (const personId of people) expect(await statusOf(org.orgId, personId)).to.include({ status: 'queued' });
    expect(provider.sent).to.have.length(2);
  });

  describe('contact SMS and delivery.outcome', () => {
    const sms = (orgId: string, personId: string, to: string, text = 'Merci de rappeler le CCAS.') =>
      contactDelivery(orgId, { personId, to, text, ref: randomUUID() }, { senderId: 'CCAS', signature: 'CCAS' }, clock.now());
    const withdraw = (orgId: string, personId: string) =>
      recipients.applyConsents(
        [
          makeEnvelope('domiciliation.smsConsentChanged', orgId, {
            personId,
            consent: false,
            phoneE164: null,
            region: 'FR',
            changedAt: clock.now().toISOString(),
            changedBy: 'u',
          }),
        ],
        clock.now(),
      );

    it('sends a contact SMS once, through a lot, to the number given even after the person withdrew SMS consent; the history shows it', async () => {
      const provider = new MemoryProvider();
      const { scheduler, sender } = engine(provider, 10);
      const { org, people } = await orgWithMail(['+33651000001']);
      const doc = sms(org.orgId, people[0], '+33651000099');
      await withdraw(org.orgId, people[0]);
      expect(await scheduler.sendNow(doc)).to.equal(true);
      expect(await scheduler.sendNow({ ...doc, content: 'another text' })).to.equal(false); // the same contact action again
      while ((await sender.runOnce()) > 0);
      expect(provider.sent.map((m) => [m.to, m.from, m.body])).to.deep.equal([['+33651000099', 'CCAS', 'Merci de rappeler le CCAS. CCAS']]);
      const entry = toDelivery(await statusOf(org.orgId, people[0]), org.timeZone);
      expect(entry).to.include({
        id: doc._id,
        type: 'contact.sms',
        typeLabel: 'SMS envoyé depuis le dossier',
        status: 'queued',
        content: 'Merci de rappeler le CCAS. CCAS',
      });
      expect(await ledger.page(org.orgId, { type: 'contact.sms' }, 10)).to.have.nested.property('items[0]._id', doc._id);
      expect(outcomesOf(doc._id)).to.deep.equal([]); // not final yet
    });

    it('re-checks only the org switch at send time: SMS switched off in between, the contact SMS is skipped, without an outcome event', async () => {
      const provider = new MemoryProvider();
      const { scheduler, sender } = engine(provider, 10);
      const { org, people } = await orgWithMail(['+33652000001']);
      const doc = sms(org.orgId, people[0], '+33652000001');
      await scheduler.sendNow(doc);
      await settings.save({ ...org, smsEnabled: false, version: org.version + 1 });
      while ((await sender.runOnce()) > 0);
      expect(provider.sent).to.deep.equal([]);
      expect(await statusOf(org.orgId, people[0])).to.deep.include({ status: 'skipped', reason: 'SMS are switched off for the organisation at send time' });
      expect(outcomesOf(doc._id)).to.deep.equal([]);
    });

    it('publishes delivery.outcome once for a failure at send: Twilio 21614 is a permanent notAMobile, with the contact action as ref', async () => {
      const provider = new MemoryProvider();
      const { scheduler, sender } = engine(provider, 10);
      const { org, people } = await orgWithMail(['+33653000001']);
      const doc = sms(org.orgId, people[0], '+33153000001');
      provider.failNext(new ProviderError("Twilio answered 400 (error 21614): 'To' number is not a valid mobile number", false, '21614'));
      await scheduler.sendNow(doc);
      while ((await sender.runOnce()) > 0);
      expect(await db.collection('lot_results').countDocuments({ orgId: org.orgId })).to.equal(0);
      const [event, ...more] = outcomesOf(doc._id);
      expect(more).to.deep.equal([]);
      expect(event).to.deep.include({ id: outcomeEventId(doc._id), orgId: org.orgId });
      expect(event.data).to.deep.include({ personId: people[0], medium: 'sms', to: '+33153000001', type: 'contact.sms', ref: doc.ref, status: 'failed' });
      expect(event.data.error).to.deep.equal({ code: '21614', kind: 'notAMobile', permanent: true });
      const row = await db.collection('deliveries').findOne({ _id: doc._id as never });
      expect(row).to.deep.include({ status: 'failed', eventIds: [event.id] });
      expect(await db.collection('deliveries_outbox').countDocuments({})).to.equal(0);
    });

    it('publishes delivery.outcome once for a digest SMS a callback reports delivered; later reports publish nothing', async () => {
      const provider = new MemoryProvider();
      const { scheduler, sender } = engine(provider, 10);
      const { org, people } = await orgWithMail(['+33654000001']);
      await scheduler.digest(org, slot, clock.now());
      while ((await sender.runOnce()) > 0);
      const [{ providerId, deliveryId }] = provider.sent;
      const at = new Date(clock.now().getTime() + 2_000);
      expect(await ledger.providerStatus({ providerId, deliveryId }, 'sent', at)).to.equal(true);
      expect(outcomesOf(deliveryId)).to.deep.equal([]);
      expect(await ledger.providerStatus({ providerId, deliveryId }, 'delivered', at)).to.equal(true);
      expect(await ledger.providerStatus({ providerId, deliveryId }, 'delivered', at)).to.equal(false);
      expect(await ledger.providerStatus({ providerId, deliveryId }, 'undelivered', at)).to.equal(false);
      const [event, ...more] = outcomesOf(deliveryId);
      expect(more).to.deep.equal([]);
      expect(event.data).to.deep.equal({
        deliveryId,
        personId: people[0],
        medium: 'sms',
        to: '+33654000001',
        type: 'mail.letter',
        ref: null,
        status: 'delivered',
        error: null,
        occurredAt: at.toISOString(),
      });
    });

    it('publishes delivery.outcome once for a failure reported before the attempt is applied (30006: notAMobile), none when the result is applied', async () => {
      const provider = new MemoryProvider();
      const { scheduler, sender } = engine(provider, 10);
      const { org } = await orgWithMail(['+33655000001']);
      await scheduler.digest(org, slot, clock.now());
      expect(await engine(provider, 10).sender.sendDue()).to.equal(1); // recorded by an instance that then dies
      const [{ providerId, deliveryId }] = provider.sent;
      const at = new Date(clock.now().getTime() + 2_000);
      expect(await ledger.providerStatus({ providerId, deliveryId, errorCode: '30006' }, 'undelivered', at)).to.equal(true);
      clock.set(new Date(clock.now().getTime() + 31_000));
      while ((await sender.runOnce()) > 0); // the dead instance's result applied: the row is past it
      expect(await statusOf(org.orgId, (await db.collection('deliveries').findOne({ _id: deliveryId as never }))!.personId)).to.include({
        status: 'undelivered',
      });
      const [event, ...more] = outcomesOf(deliveryId);
      expect(more).to.deep.equal([]);
      expect(event.data).to.deep.include({ status: 'failed', to: '+33655000001', error: { code: '30006', kind: 'notAMobile', permanent: true } });
    });

    it('leaves an outcome whose publish failed to the outbox sweep, which publishes it once', async () => {
      const provider = new MemoryProvider();
      const { scheduler, sender } = engine(provider, 10);
      const { org, people } = await orgWithMail(['+33656000001']);
      const doc = sms(org.orgId, people[0], '+33656000001');
      provider.failNext(new ProviderError('Twilio answered 400 (error 21211): invalid number', false, '21211'));
      await scheduler.sendNow(doc);
      bus.failNext = 1;
      while ((await sender.runOnce()) > 0);
      expect(await statusOf(org.orgId, people[0])).to.include({ status: 'failed' });
      expect(outcomesOf(doc._id)).to.deep.equal([]);
      expect(await db.collection('deliveries_outbox').countDocuments({})).to.equal(1);
      expect(await ledger.outbox!.sweep()).to.equal(1);
      expect(await ledger.outbox!.sweep()).to.equal(0);
      const [event, ...more] = outcomesOf(doc._id);
      expect(more).to.deep.equal([]);
      expect(event.data.error).to.deep.equal({ code: '21211', kind: 'other', permanent: true });
      expect(await db.collection('deliveries_outbox').countDocuments({})).to.equal(0);
    });
  });
});
