import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker, ServiceSchema } from 'moleculer';
import { DurableEvents, type AuthContext, type BaseConfig, type Envelope, connectDatabase } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import type { z } from 'zod';
import type { batchResult, dayRegistrations, handOverResult, mailItem, personMail } from '../src/api';
import { mailService } from '../src/service';

/** Neighbour services the mail service asks, with states the test controls. */
const statuses = new Map<string, string>();
const people = new Set<string>();
const neighbours: ServiceSchema[] = [
  {
    name: 'domiciliation',
    actions: {
      activeStatuses: (ctx: { params: { personIds: string[] } }) => ({
        statuses: ctx.params.personIds.map((personId) => ({
          personId,
          active: statuses.get(personId) === 'active',
          status: statuses.get(personId) ?? null,
        })),
      }),
    },
  },
  {
    name: 'contacts',
    actions: {
      getPerson: (ctx: { params: { personId: string } }) => {
        if (!people.has(ctx.params.personId)) {
          throw Object.assign(new Error('Person was not found'), { code: 404, type: 'NOT_FOUND' });
        }
        return { id: ctx.params.personId };
      },
    },
  },
];

const domiciled = (status = 'active') => {
  const id = randomUUID();
  people.add(id);
  statuses.set(id, status);
  return id;
};

describe('mail service', function () {
  this.timeout(120_000);
  const agent: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'agent' };
  const paris = { org: { region: 'FR', timeZone: 'Europe/Paris' } };
  let config: BaseConfig;
  let client: ServiceBroker;
  let service: ServiceBroker;
  let events: DurableEvents;
  const received: Envelope[] = [];

  type BatchEntry = z.output<typeof batchResult>['results'][number];
  interface EitherResult {
    index: number;
    outcome: BatchEntry['outcome'];
    item?: z.output<typeof mailItem>;
    problem?: Extract<BatchEntry, { outcome: 'refused' }>['problem'];
  }
  /** What each action answers, as the contract describes it. */
  interface Answers {
    'mail.register': z.output<typeof mailItem>;
    'mail.get': z.output<typeof mailItem>;
    // Each result read as either side of the union: the test asserts which one it is.
    'mail.registerBatch': Omit<z.output<typeof batchResult>, 'results'> & { results: EitherResult[] };
    'mail.listForPerson': z.output<typeof personMail>;
    'mail.handOver': z.output<typeof handOverResult>;
    'mail.day': z.output<typeof dayRegistrations>;
  }
  const call = <A extends keyof Answers>(action: A, params: object, auth = agent, meta: object = {}) =>
    client.call<Answers[A], object>(action, params, as(auth, { ...paris, ...meta }));
  const rejects = async (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('accepted'),
      (err) => err,
    );

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client', neighbours);
    service = await startNode(config, 'mail', [mailService(config)]);
    await client.waitForServices(['mail'], 20_000);
    const db = await connectDatabase(config, 'mailtest');
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    for (const type of ['mail.registered', 'mail.handedOver'] as const) {
      await events.consume({ group: 'test', type, db, handle: (evs) => Promise.resolve(void received.push(...evs)) });
    }
  });
  after(async () => {
    await events?.close();
    await Promise.all([client, service].map((b) => b?.stop()));
  });

  it('registers 3 letters and 2 parcels (seed 001) and publishes one mail.registered per item', async () => {
    const person = domiciled();
    const registered = await Promise.all([
      call('mail.register', { personId: person, kind: 'letter', quantity: 3, sender: 'CAF' }),
      call('mail.register', { personId: person, kind: 'parcel', quantity: 2 }),
    ]);
    const view = await call('mail.listForPerson', { personId: person });
    expect(view.pending).to.deep.equal({ letter: 3, parcel: 2, deliveryNotice: 0 });
    expect(view.items.map((i: { id: string }) => i.id)).to.have.members(registered.map((r) => r.id));
    await eventually(
      () => registered.every((r) => received.some((e) => e.type === 'mail.registered' && (e.data as { mailItemId: string }).mailItemId === r.id)),
      {
        what: 'both events received',
      },
    );
    const letterEvent = received.find((e) => (e.data as { mailItemId: string }).mailItemId === registered[0].id)!;
    expect(letterEvent).to.deep.include({ orgId: agent.orgId, type: 'mail.registered' });
    expect(letterEvent.data).to.include({ personId: person, kind: 'letter', quantity: 3 });
  });

  it('refuses mail for a person whose domiciliation is not active, and for an unknown person', async () => {
    const ended = domiciled('ended');
    const err = await rejects(call('mail.register', { personId: ended, kind: 'letter' }));
    expect(err.code).to.equal(409);
    expect(err.message).to.match(/domiciliation is ended, not active/);
    const undomiciled = randomUUID();
    people.add(undomiciled);
    expect((await rejects(call('mail.register', { personId: undomiciled, kind: 'letter' }))).message).to.match(/no domiciliation/);
    expect((await rejects(call('mail.register', { personId: randomUUID(), kind: 'letter' }))).code).to.equal(404);
  });

  it('registers nothing twice for a retried request with the same Idempotency-Key', async () => {
    const person = domiciled();
    const key = `retry-${randomUUID()}`;
    const [a, b] = await Promise.all([
      call('mail.register', { personId: person, kind: 'parcel' }, agent, { idempotencyKey: key }),
      call('mail.register', { personId: person, kind: 'parcel' }, agent, { idempotencyKey: key }),
    ]);
    const c = await call('mail.register', { personId: person, kind: 'parcel' }, agent, { idempotencyKey: key });
    expect(b.id).to.equal(a.id);
    expect(c.id).to.equal(a.id);
    expect((await call('mail.listForPerson', { personId: person })).items).to.have.length(1);
    // The same key in another org is another request.
    const other: AuthContext = { ...agent, orgId: randomUUID() };
    const personB = domiciled();
    const d = await call('mail.register', { personId: personB, kind: 'parcel' }, other, { idempotencyKey: key });
    expect(d.id).not.to.equal(a.id);
  });

  it('registers a round for many people, refusing per item with the reason, and publishes one event per item', async () => {
    const [a, b] = [domiciled(), domiciled()];
    const ended = domiciled('ended');
    const unknown = randomUUID();
    const res = await call('mail.registerBatch', {
      items: [
        { personId: a, kind: 'letter', quantity: 3 },
        { personId: ended, kind: 'letter' },
        { personId: b, kind: 'parcel', sender: 'La Poste' },
        { personId: unknown, kind: 'deliveryNotice' },
        { personId: a, kind: 'parcel', quantity: 2 },
      ],
    });
    expect(res).to.include({ registered: 3, refused: 2 });
    expect(res.results.map((r: { index: number; outcome: string }) => [r.index, r.outcome])).to.deep.equal([
      [0, 'registered'],
      [1, 'refused'],
      [2, 'registered'],
      [3, 'refused'],
      [4, 'registered'],
    ]);
    expect(res.results[1].problem).to.include({ status: 409 });
    expect(res.results[1].problem!.detail).to.match(/domiciliation is ended/);
    expect(res.results[3].problem).to.include({ status: 404 });
    expect(res.results[2].item).to.include({ personId: b, kind: 'parcel', sender: 'La Poste', status: 'pending' });
    expect((await call('mail.listForPerson', { personId: a })).pending).to.deep.equal({ letter: 3, parcel: 2, deliveryNotice: 0 });
    const ids = [0, 2, 4].map((i) => res.results[i].item!.id);
    await eventually(() => ids.every((id) => received.filter((e) => (e.data as { mailItemId: string }).mailItemId === id).length === 1), {
      what: 'one mail.registered per registered item',
    });
  });

  it('a retried round with the same Idempotency-Key registers only what the first did not', async () => {
    const person = domiciled();
    const later = domiciled('requested');
    const key = `round-${randomUUID()}`;
    const round = {
      items: [
        { personId: person, kind: 'letter' },
        { personId: later, kind: 'letter' },
      ],
    };
    const first = await call('mail.registerBatch', round, agent, { idempotencyKey: key });
    expect(first).to.include({ registered: 1, refused: 1 });
    statuses.set(later, 'active'); // activated in between: the retry registers it
    const again = await call('mail.registerBatch', round, agent, { idempotencyKey: key });
    expect(again).to.include({ registered: 2, refused: 0 });
    expect(again.results[0].item!.id).to.equal(first.results[0].item!.id);
    const third = await call('mail.registerBatch', round, agent, { idempotencyKey: key });
    expect(third.results.map((r) => r.item!.id)).to.deep.equal(again.results.map((r) => r.item!.id));
    expect((await call('mail.listForPerson', { personId: person })).items).to.have.length(1);
    expect((await call('mail.listForPerson', { personId: later })).items).to.have.length(1);
  });

  it('refuses a malformed round as a whole (422 naming the item) and registers nothing', async () => {
    const person = domiciled();
    const err = await rejects(
      call('mail.registerBatch', {
        items: [
          { personId: person, kind: 'letter' },
          { personId: person, kind: 'postcard' },
        ],
      }),
    );
    expect(err.code).to.equal(422);
    expect(JSON.stringify(err.data)).to.match(/items\.1\.kind/);
    expect((await call('mail.listForPerson', { personId: person })).items).to.have.length(0);
    expect((await rejects(call('mail.registerBatch', { items: [] }))).code).to.equal(422);
  });

  it('hands over some items, then the rest, to a proxy; publishes mail.handedOver', async () => {
    const person = domiciled();
    const items = await Promise.all(['letter', 'letter', 'deliveryNotice'].map((kind) => call('mail.register', { personId: person, kind })));
    const first = await call('mail.handOver', { personId: person, mailItemIds: [items[0].id] });
    expect(first.handedOver).to.have.length(1);
    expect(first.handedOver[0]).to.deep.include({ status: 'handedOver' });
    expect(first.handedOver[0].handOver).to.include({ to: 'person', by: agent.userId });
    // Handing over the same item again is refused: it is no longer pending.
    const again = await rejects(call('mail.handOver', { personId: person, mailItemIds: [items[0].id] }));
    expect(again.code).to.equal(422);
    const proxyless = await rejects(call('mail.handOver', { personId: person, to: 'proxy' }));
    expect(proxyless.data.errors[0]).to.deep.equal({ path: 'proxyName', message: 'is required when mail is handed to a proxy' });
    const rest = await call('mail.handOver', { personId: person, to: 'proxy', proxyName: 'Marie Curie' });
    expect(rest.handedOver.map((i: { id: string }) => i.id)).to.have.members([items[1].id, items[2].id]);
    expect((await call('mail.listForPerson', { personId: person })).pending).to.deep.equal({ letter: 0, parcel: 0, deliveryNotice: 0 });
    expect((await rejects(call('mail.handOver', { personId: person }))).code).to.equal(409);
    await eventually(() => received.filter((e) => e.type === 'mail.handedOver' && (e.data as { personId: string }).personId === person).length === 2, {
      what: 'two hand-over events',
    });
    const ids = received
      .filter((e) => e.type === 'mail.handedOver' && (e.data as { personId: string }).personId === person)
      .flatMap((e) => (e.data as { mailItemIds: string[] }).mailItemIds);
    expect(ids).to.have.members(items.map((i) => i.id));
  });

  it("lists the org's registrations of a day and keeps other orgs out (404)", async () => {
    const person = domiciled();
    const item = await call('mail.register', { personId: person, kind: 'deliveryNotice', quantity: 2 });
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
    const day = await call('mail.day', { date: today });
    expect(day.items.map((i: { id: string }) => i.id)).to.include(item.id);
    expect(day.totals.deliveryNotice).to.be.at.least(2);
    const orgB: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    expect((await call('mail.day', { date: today }, orgB)).items).to.have.length(0);
    expect((await rejects(call('mail.get', { mailItemId: item.id }, orgB))).code).to.equal(404);
    expect((await rejects(call('mail.handOver', { personId: person }, orgB))).code).to.equal(409);
    expect((await call('mail.listForPerson', { personId: person })).pending.deliveryNotice).to.equal(2);
    expect((await rejects(call('mail.day', { date: '2026-02-30' }))).code).to.equal(422);
  });
});
