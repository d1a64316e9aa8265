import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { ServiceBroker, ServiceSchema } from 'moleculer';
import { z } from 'zod';
import { STAFF, defineAction, notFound, type Health, type Route } from '@relais/shared';
import { startNode } from '@relais/testing';
import { createApp } from '../src/app';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import type { RelaisMeta } from '@relais/shared';
import { Api, expectProblem, startTestGateway, type TestGateway } from './support';

const itemId = z.uuid({ message: 'must be an item id (UUID)' });
const thingInput = z.strictObject({ itemId, name: z.string().min(1), count: z.number().int().min(1) });
const readInput = z.strictObject({ itemId, q: z.string().max(10).optional() });

/** A service of this test only, on its own broker: it reports what reached it. */
const probeService: ServiceSchema = {
  name: 'probe',
  actions: {
    health: { handler: (): Health => ({ service: 'probe', database: true, nats: true }) },
    echo: {
      handler(ctx) {
        const meta = ctx.meta as RelaisMeta;
        return { params: ctx.params, auth: meta.auth, org: meta.org, idempotencyKey: meta.idempotencyKey ?? null, servedBy: ctx.broker.nodeID };
      },
    },
    missing: {
      handler() {
        throw notFound('Item');
      },
    },
    adminOnly: defineAction({ input: z.strictObject({ note: z.string() }), roles: ['admin'], handler: () => ({ ok: true }) }),
  },
};
const sickService: ServiceSchema = {
  name: 'sick',
  actions: { health: { handler: (): Health => ({ service: 'sick', database: false, nats: true }) } },
};

const routes: Route[] = [
  { method: 'get', path: '/v1/items/:itemId', action: 'probe.echo', input: readInput, roles: STAFF, summary: 'Read', tag: 'Probe' },
  {
    method: 'post',
    path: '/v1/items/:itemId/things',
    action: 'probe.echo',
    input: thingInput,
    status: 201,
    roles: STAFF,
    idempotent: true,
    summary: 'Add a thing',
    tag: 'Probe',
  },
  { method: 'delete', path: '/v1/items/:itemId', action: 'probe.missing', input: readInput, status: 204, roles: STAFF, summary: 'Delete', tag: 'Probe' },
  {
    method: 'post',
    path: '/v1/admin-notes',
    action: 'probe.adminOnly',
    input: z.strictObject({ note: z.string() }),
    roles: ['admin'],
    summary: 'Note',
    tag: 'Probe',
  },
  { method: 'get', path: '/v1/absent', action: 'absent.list', input: z.strictObject({}), roles: STAFF, summary: 'Nobody serves this', tag: 'Probe' },
];

describe('gateway route table over NATS', function () {
  this.timeout(30_000);
  let t: TestGateway;
  let api: Api;
  let serviceNode: ServiceBroker;
  let agent: { token: string; userId: string; orgId: string };
  const item = '3f0c2a59-2b1e-4c5e-9d7a-0d6a2b9c8e11';

  before(async function () {
    this.timeout(60_000);
    t = await startTestGateway({ routes, healthServices: ['probe', 'sick', 'absent'] });
    api = t.api;
    // The services run on a broker of their own: every call crosses NATS.
    serviceNode = await startNode(t.config, 'probe', [probeService, sickService]);
    await t.gw.broker.waitForServices(['probe', 'sick'], 15_000);
    const org = await createOrgWithAdmin(t.gw.store, {
      name: 'Probe org',
      region: 'GP',
      timeZone: 'America/Guadeloupe',
      admin: { name: 'Ada', email: 'ada@p.example' },
    });
    const created = await createUserWithToken(t.gw.store, org.org.id, { name: 'Al', email: 'al@p.example', role: 'agent' });
    agent = { token: created.token.token, userId: created.user.id, orgId: org.org.id };
  });

  after(async function () {
    this.timeout(60_000);
    await serviceNode?.stop();
    await t?.close();
  });

  it('calls the action on the service broker with path + query params and the caller in ctx.meta', async () => {
    const reply = await api.get(`/v1/items/${item}?q=abc`, { token: agent.token, headers: { 'idempotency-key': 'ignored-here' } });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    expect(reply.body.params).to.deep.equal({ itemId: item, q: 'abc' });
    expect(reply.body.auth).to.deep.equal({ userId: agent.userId, orgId: agent.orgId, role: 'agent' });
    expect(reply.body.org).to.deep.equal({ region: 'GP', timeZone: 'America/Guadeloupe' });
    expect(reply.body.idempotencyKey, 'only idempotent routes pass the key').to.equal(null);
    expect(reply.body.servedBy).to.equal(serviceNode.nodeID).and.not.equal(t.gw.broker.nodeID);
  });

  it('merges the JSON body, answers the route status and passes a valid Idempotency-Key', async () => {
    const reply = await api.post(`/v1/items/${item}/things`, {
      token: agent.token,
      json: { name: 'bolt', count: 2 },
      headers: { 'idempotency-key': 'retry-me 1' },
    });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    expect(reply.body.params).to.deep.equal({ name: 'bolt', count: 2, itemId: item });
    expect(reply.body.idempotencyKey).to.equal('retry-me 1');
  });

  it('rejects an Idempotency-Key that is too long or not printable', async () => {
    for (const key of ['k'.repeat(201), 'tab\there']) {
      const reply = await api.post(`/v1/items/${item}/things`, { token: agent.token, json: { name: 'bolt', count: 2 }, headers: { 'idempotency-key': key } });
      expect(expectProblem(reply, 422).errors).to.deep.equal([{ path: 'Idempotency-Key', message: 'must be 1 to 200 printable ASCII characters' }]);
    }
  });

  it('validates in the gateway: readable messages, unknown keys and path-param collisions rejected', async () => {
    const bad = await api.post(`/v1/items/not-a-uuid/things`, { token: agent.token, json: { count: 'two', colour: 'red' } });
    expect(expectProblem(bad, 422).errors).to.deep.equal([
      { path: 'itemId', message: 'must be an item id (UUID)' },
      { path: 'name', message: 'is required' },
      { path: 'count', message: 'must be a number' },
      { path: '', message: 'unknown field(s): colour' },
    ]);
    const collision = await api.post(`/v1/items/${item}/things`, { token: agent.token, json: { itemId: item, name: 'x', count: 1 } });
    expect(expectProblem(collision, 422).errors).to.deep.equal([{ path: 'itemId', message: 'is given by the URL path; leave it out of the body' }]);
    expectProblem(await api.get(`/v1/items/${item}?q=abc&sort[$gt]=1`, { token: agent.token }), 422);
  });

  it("maps the service's errors to problem+json: 404, 403", async () => {
    const missing = await api.delete(`/v1/items/${item}`, { token: agent.token });
    expect(expectProblem(missing, 404).detail).to.equal('Item was not found');
    const forbidden = await api.post('/v1/admin-notes', { token: agent.token, json: { note: 'hi' } });
    expect(expectProblem(forbidden, 403).detail).to.match(/your role is agent/);
  });

  it('answers 503 when no node serves the action', async function () {
    this.timeout(20_000);
    expectProblem(await api.get('/v1/absent', { token: agent.token }), 503);
  });

  it('readyz names what is down (503), and is 200 once every required service is healthy', async () => {
    const down = await api.get('/readyz');
    expect(expectProblem(down, 503).detail).to.equal('Not ready: sick (database down), absent (not registered).');
    expect(down.body.checks).to.deep.equal({
      broker: true,
      database: true,
      services: { probe: 'ok', sick: 'database down', absent: 'not registered' },
    });

    // The same gateway with only the healthy service required.
    const app = createApp({ broker: t.gw.broker, store: t.gw.store, routes: [], config: t.config, healthServices: ['probe'] });
    const server = http.createServer(app).listen(0);
    try {
      await new Promise((r) => server.once('listening', r));
      const ready = await new Api(`http://127.0.0.1:${(server.address() as AddressInfo).port}`).get('/readyz');
      expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
      expect(ready.body).to.deep.equal({ status: 'ready', checks: { broker: true, database: true, services: { probe: 'ok' } } });
    } finally {
      server.close();
    }
  });
});
