import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { Context, ServiceBroker, ServiceSchema } from 'moleculer';
import type { Connection } from 'mongoose';
import {
  DurableEvents,
  connectDatabase,
  notFound,
  type AuthContext,
  type BaseConfig,
  type Envelope,
  type EventType,
  type RelaisMeta,
  type Subscription,
} from '@relais/shared';
import { as, deleteTestStreams, dropTestDatabases, eventually, startNode, testConfig, uniqueNamespace, refusal } from '@relais/testing';
import { domiciliationService } from '../src/service';

/** Stands in for the contacts service: knows which org each person belongs to. */
function fakeContacts(people: Map<string, string>): ServiceSchema {
  return {
    name: 'contacts',
    actions: {
      getPerson(ctx: Context<{ personId: string }, RelaisMeta>) {
        const { personId } = ctx.params;
        if (people.get(personId) !== ctx.meta.auth?.orgId) throw notFound('Person');
        return { id: personId };
      },
    },
  };
}

interface Dom {
  id: string;
  status: string;
  startDate: string | null;
  endDate: string | null;
  periods: { startDate: string; endDate: string }[];
  smsConsent: { consent: boolean; phoneE164: string | null; phoneRaw: string | null; region: string | null };
}

/**
 * The service over real NATS and the real database, called from another broker as the
 * gateway would, with the contacts service faked and events read by a durable consumer.
 */
describe('domiciliation service', function () {
  this.timeout(120_000);
  const reunion = { org: { region: 'RE', timeZone: 'Indian/Reunion' } };
  const orgA = randomUUID();
  const caseworker: AuthContext = { orgId: orgA, userId: randomUUID(), role: 'caseworker' };
  const agent: AuthContext = { orgId: orgA, userId: randomUUID(), role: 'agent' };
  const orgB: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
  const people = new Map<string, string>();
  const events: Envelope[] = [];
  let config: BaseConfig;
  let client: ServiceBroker;
  let service: ServiceBroker;
  let bus: DurableEvents;
  let eventsDb: Connection;
  let serviceDb: Connection;
  const subs: Subscription[] = [];

  const call = <T = Dom>(action: string, params: object, auth: AuthContext = caseworker) =>
    client.call<T, object>(`domiciliation.${action}`, params, as(auth, reunion));
  const fails = refusal;
  const newPerson = (orgId = orgA) => {
    const id = randomUUID();
    people.set(id, orgId);
    return id;
  };
  const eventsOf = <T extends EventType>(personId: string, type: T) =>
    events.filter((e) => e.type === type && (e.data as { personId?: string }).personId === personId) as Envelope<T>[];
  const today = () => DateTime.now().setZone('Indian/Reunion').startOf('day');

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client', [fakeContacts(people)]);
    service = await startNode(config, 'domiciliation', [domiciliationService(config)]);
    await Promise.all([client.waitForServices(['domiciliation'], 30_000), service.waitForServices(['contacts'], 30_000)]);
    bus = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    eventsDb = await connectDatabase(config, 'domtest');
    serviceDb = await connectDatabase(config, 'domiciliation');
    for (const type of ['domiciliation.changed', 'domiciliation.smsConsentChanged'] as const) {
      subs.push(await bus.consume({ group: 'test', type, db: eventsDb, handle: (evs) => Promise.resolve(void events.push(...evs)) }));
    }
  });

  after(async () => {
    await Promise.all(subs.map((s) => s.stop()));
    await bus?.close();
    await eventsDb?.close();
    await serviceDb?.close();
    await Promise.all([client, service].map((b) => b?.stop()));
    if (config) {
      await Promise.allSettled([dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE), deleteTestStreams(config.NATS_URL, config.RELAIS_NAMESPACE)]);
    }
  });

  it('request -> activate -> renew keeps the earlier period -> end, each change published', async () => {
    const person = newPerson();
    // A first period already over, so the renewal covers today.
    const start = today().minus({ days: 400 }).toISODate()!;
    const end = today().minus({ days: 35 }).toISODate()!;
    const renewalEnd = today().plus({ days: 330 }).toISODate()!;

    expect(await call('request', { personId: person }, agent)).to.deep.include({ status: 'requested', periods: [] });
    await call('activate', { personId: person, startDate: start, endDate: end });
    expect(await call('activeStatus', { personId: person }, agent)).to.deep.include({ active: false, status: 'active' });

    const renewed = await call('renew', { personId: person, endDate: renewalEnd });
    expect(renewed.periods).to.deep.equal([
      { startDate: start, endDate: end },
      { startDate: today().minus({ days: 34 }).toISODate(), endDate: renewalEnd },
    ]);
    expect(await call('activeStatus', { personId: person }, agent)).to.deep.equal({
      personId: person,
      active: true,
      status: 'active',
      startDate: renewed.startDate,
      endDate: renewalEnd,
    });

    // Without a date, the domiciliation ends today in Réunion.
    const ended = await call('end', { personId: person });
    expect(ended).to.deep.include({ status: 'ended', endDate: today().toISODate() });
    expect(ended.periods).to.have.length(2);
    expect(await call('activeStatus', { personId: person }, agent)).to.deep.include({ active: false, status: 'ended' });

    const history = await call<{ entries: { action: string; field: string; from: unknown; to: unknown; by: string }[] }>(
      'history',
      { personId: person },
      agent,
    );
    expect(history.entries.map((h) => `${h.action}:${h.field}`)).to.deep.equal([
      'request:status',
      'activate:status',
      'activate:startDate',
      'activate:endDate',
      'renew:startDate',
      'renew:endDate',
      'end:status',
      'end:endDate',
    ]);
    expect(history.entries[0].by).to.equal(agent.userId);
    expect(history.entries[6]).to.deep.include({ from: 'active', to: 'ended', by: caseworker.userId });

    const published = await eventually(
      () => {
        const got = eventsOf(person, 'domiciliation.changed');
        return got.length >= 4 && got;
      },
      { what: 'four domiciliation.changed events' },
    );
    const facts = published.map((e) => e.data as { status: string; endDate: string | null });
    expect(facts.map((d) => d.status).sort()).to.deep.equal(['active', 'active', 'ended', 'requested']);
    expect(facts.find((d) => d.status === 'ended')).to.deep.include({ endDate: today().toISODate() });
    expect(published.every((e) => e.orgId === orgA)).to.equal(true);
    // Each write's events were published and its intent deleted right away, none left to the sweep.
    const stored = await serviceDb.collection('domiciliations').findOne({ orgId: orgA, personId: person });
    expect(stored).to.deep.include({ version: 4 });
    expect(stored!.eventIds).to.have.members(published.map((e) => e.id));
    expect(await serviceDb.collection('domiciliations_outbox').countDocuments({})).to.equal(0);
  });

  it('SMS consent: yes with +262 692 01 02 03 for a Réunion org, then no; every change recorded and published', async () => {
    const person = newPerson();
    await call('request', { personId: person });
    const yes = await call<Dom['smsConsent']>('setSmsConsent', { personId: person, consent: true, phone: '+262 692 01 02 03' });
    expect(yes).to.deep.include({ personId: person, consent: true, phoneE164: '+262692010203', phoneRaw: '+262 692 01 02 03', region: 'RE' });
    // Same number in national form: nothing changes, nothing is recorded.
    await call('setSmsConsent', { personId: person, consent: true, phone: '0692 01 02 03' });
    const got = await call('get', { personId: person }, agent);
    expect(got.smsConsent).to.deep.include({ consent: true, phoneE164: '+262692010203', region: 'RE' });
    const no = await call<Dom['smsConsent']>('setSmsConsent', { personId: person, consent: false });
    expect(no).to.deep.include({ consent: false, phoneE164: null, region: null });

    const history = await call<{ entries: { field: string; from: unknown; to: unknown; by: string }[] }>('smsConsentHistory', { personId: person }, agent);
    expect(history.entries.map((h) => [h.field, h.from, h.to])).to.deep.equal([
      ['smsConsent', false, true],
      ['smsPhone', null, '+262692010203'],
      ['smsConsent', true, false],
      ['smsPhone', '+262692010203', null],
    ]);
    expect(history.entries.every((h) => h.by === caseworker.userId)).to.equal(true);

    const published = await eventually(
      () => {
        const evs = eventsOf(person, 'domiciliation.smsConsentChanged');
        return evs.length >= 2 && evs;
      },
      { what: 'two smsConsentChanged events' },
    );
    const data = published.map((e) => e.data).sort((a, b) => Number(b.consent) - Number(a.consent));
    expect(data[0]).to.deep.include({ consent: true, phoneE164: '+262692010203', region: 'RE', changedBy: caseworker.userId });
    expect(data[1]).to.deep.include({ consent: false, phoneE164: null, region: null });
  });

  it('an agent may read the SMS consent but not change it (403), nor decide a domiciliation', async () => {
    const person = newPerson();
    await call('request', { personId: person }, agent);
    expect(await call('smsConsent', { personId: person }, agent)).to.deep.include({ consent: false });
    await fails(call('setSmsConsent', { personId: person, consent: true, phone: '0692010203' }, agent), 403, /admin, manager, caseworker/);
    await fails(call('activate', { personId: person, startDate: '2026-01-01', endDate: '2026-12-31' }, agent), 403);
  });

  it('refuses a landline with a 422 that says why, and consent without a number', async () => {
    const person = newPerson();
    await call('request', { personId: person });
    const err = await fails(call('setSmsConsent', { personId: person, consent: true, phone: '0262 12 34 56' }), 422);
    expect(err.message).to.match(/"0262 12 34 56" is a landline number: SMS needs a mobile number/);
    expect(err.data).to.deep.equal({ errors: [{ path: 'phone', message: '"0262 12 34 56" is a landline number: SMS needs a mobile number' }] });
    await fails(call('setSmsConsent', { personId: person, consent: true }), 422, /phone: is required when SMS consent is given/);
    await fails(call('setSmsConsent', { personId: person, consent: true, phone: '0692010203', $where: '1' }), 422, /unknown field/);
  });

  it("keeps org A's domiciliation from org B (404) and needs the person to exist in the caller's org", async () => {
    const person = newPerson();
    await call('request', { personId: person });
    await fails(call('get', { personId: person }, orgB), 404);
    await fails(call('history', { personId: person }, orgB), 404);
    await fails(call('setSmsConsent', { personId: person, consent: false }, orgB), 404);
    expect(await call('activeStatus', { personId: person }, orgB)).to.deep.equal({
      personId: person,
      active: false,
      status: null,
      startDate: null,
      endDate: null,
    });
    // contacts answers 404 for a person of another org or an unknown one.
    await fails(call('request', { personId: person }, orgB), 404, /Person was not found/);
    await fails(call('request', { personId: randomUUID() }), 404, /Person was not found/);
    await fails(call('get', { personId: person }, { ...caseworker, orgId: orgB.orgId }), 404);
  });

  it('answers 409 with what is allowed for a change the status does not allow, 422 for dates that do not fit', async () => {
    const person = newPerson();
    await call('request', { personId: person });
    await fails(call('renew', { personId: person, endDate: '2027-01-01' }), 409, /A requested domiciliation cannot be renewed; allowed now: activate, refuse/);
    await fails(call('activate', { personId: person, startDate: '2026-05-01', endDate: '2026-04-30' }), 422, /endDate: must be after the start date/);
    await fails(call('request', { personId: person }), 409, /already has a domiciliation/);
    const refused = await call<Dom & { refusalReason: string }>('refuse', { personId: person, reason: 'no tie to the commune' });
    expect(refused).to.deep.include({ status: 'refused', refusalReason: 'no tie to the commune' });
    await fails(call('end', { personId: person }), 409, /allowed now: request it again/);
    await fails(call('activate', { personId: newPerson(), startDate: '2026-01-01', endDate: '2026-12-31' }), 404, /request one first/);
  });
});
