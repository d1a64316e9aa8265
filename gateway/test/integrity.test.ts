import http from 'node:http';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Context } from 'moleculer';
import { contactsService } from '@relais/contacts';
import { eventually, freePort, spawnNatsServer, startNode } from '@relais/testing';
import { createOrgWithAdmin } from '../src/auth/accounts';
import { serviceRoutes } from '../src/routes';
import { expectProblem, gatewayTestConfig, startTestGateway, startTestStack, type Parsed, type TestGateway, type TestStack } from './support';

/** Acknowledged means stored; refused means a clear 4xx; another org's ids are unknown ids. */
describe('no acknowledged write lost, no 500 on any input (through the gateway)', function () {
  this.timeout(180_000);
  let t: TestStack;
  let token: string;
  let otherToken: string;
  let person: string;

  const raw = (method: string, path: string, body: Buffer | string, headers: Record<string, string>) =>
    new Promise<{ status: number; type: string; body: Parsed }>((resolve, reject) => {
      const url = new URL(t.api.baseUrl + path);
      const req = http.request({ host: url.hostname, port: url.port, path, method, headers: { authorization: `Bearer ${token}`, ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), body: text ? JSON.parse(text) : null }));
      });
      req.on('error', reject);
      req.end(body);
    });

  before(async () => {
    t = await startTestStack();
    const org = await createOrgWithAdmin(t.gw.store, { name: `CCAS ${randomUUID().slice(0, 8)}`, admin: { name: 'A', email: 'a@ccas.test' } });
    token = org.token.token;
    otherToken = (await createOrgWithAdmin(t.gw.store, { name: `Other ${randomUUID().slice(0, 8)}`, admin: { name: 'B', email: 'b@o.test' } })).token.token;
    const created = await t.api.post('/v1/people', { token, json: { lastName: 'Pierre', firstName: 'Lucas' } });
    person = created.body.id;
    await t.api.post(`/v1/people/${person}/domiciliation`, { token, json: {} });
    const today = new Date().toISOString().slice(0, 10);
    const next = new Date(Date.now() + 300 * 86_400_000).toISOString().slice(0, 10);
    expect((await t.api.post(`/v1/people/${person}/domiciliation/activate`, { token, json: { startDate: today, endDate: next } })).status).to.equal(200);
  });
  after(async () => {
    await t?.close();
  });

  it('refuses mail holding a NUL with a 422 naming the field, stores and publishes nothing', async () => {
    const reply = await t.api.post(`/v1/people/${person}/mail`, { token, json: { kind: 'letter', sender: 'CAF\u0000' } });
    expect(expectProblem(reply, 422).errors).to.deep.equal([
      { path: 'sender', message: 'contains a control character (U+0000) that cannot be stored; remove it' },
    ]);
    const round = await t.api.post('/v1/mail/batch', {
      token,
      json: {
        items: [
          { personId: person, kind: 'letter' },
          { personId: person, kind: 'parcel', note: 'x\u0000' },
        ],
      },
    });
    expect(expectProblem(round, 422).errors![0].path).to.equal('items.1.note');
    const list = await t.api.get(`/v1/people/${person}/mail`, { token });
    expect(list.body.items).to.have.length(0);
    // A good registration right after is stored and readable.
    const ok = await t.api.post(`/v1/people/${person}/mail`, { token, json: { kind: 'letter', sender: 'CAF', note: 'two\nlines\tand a tab' } });
    expect(ok.status).to.equal(201);
    expect((await t.api.get(`/v1/mail/${ok.body.id}`, { token })).body.note).to.equal('two\nlines\tand a tab');
  });

  it('refuses control characters, bidi overrides and lone surrogates in names and labels (422, never 500)', async () => {
    const cases: [string, string, object][] = [
      ['/v1/people', 'lastName', { lastName: 'Pi\u0000erre', firstName: 'L' }],
      ['/v1/people', 'firstName', { lastName: 'Pierre', firstName: 'Lu\u202ecas' }],
      ['/v1/people', 'lastName', { lastName: 'Pierre\u001b[31m', firstName: 'L' }],
      ['/v1/users', 'name', { name: 'Ada\u0007', email: 'ada@x.test', role: 'agent' }],
      ['/v1/users', 'name', { name: 'Ada\nLovelace', email: 'ada2@x.test', role: 'agent' }],
    ];
    for (const [path, field, json] of cases) {
      const reply = await t.api.post(path, { token, json });
      expect(
        expectProblem(reply, 422).errors!.map((e) => e.path),
        JSON.stringify(json),
      ).to.include(field);
    }
    // A lone surrogate, sent as JSON escapes, is not turned into U+FFFD.
    const lone = await raw('POST', '/v1/people', '{"lastName":"Pierre\\ud800","firstName":"L"}', { 'content-type': 'application/json' });
    expect(lone.status).to.equal(422);
    expect(lone.body.errors[0]).to.deep.include({ path: 'lastName' });
  });

  it('refuses invalid UTF-8 with a 400 and other charsets with a 415, instead of altering the text', async () => {
    const bytes = Buffer.concat([Buffer.from('{"lastName":"Pi'), Buffer.from([0xff, 0xfe]), Buffer.from('erre","firstName":"L"}')]);
    const invalid = await raw('POST', '/v1/people', bytes, { 'content-type': 'application/json' });
    expect(invalid.status).to.equal(400);
    expect(invalid.type).to.match(/problem\+json/);
    expect(invalid.body.detail).to.equal('The request body is not valid UTF-8.');
    const utf16 = Buffer.from('{"lastName":"Pierre","firstName":"L"}', 'utf16le');
    const wide = await raw('POST', '/v1/people', utf16, { 'content-type': 'application/json; charset=utf-16le' });
    expect(wide.status).to.equal(415);
    const badUrl = await raw('GET', '/v1/people?name=%FF', '', {});
    expect(badUrl.status).to.equal(400);
  });

  it("answers another org's person with 404 on every route that takes a person id", async () => {
    const paths: [string, string, object?][] = [
      ['GET', `/v1/people/${person}/mail`],
      ['GET', `/v1/people/${person}/pending-mail`],
      ['GET', `/v1/people/${person}/sms-history`],
      ['GET', `/v1/people/${person}/sms-consent`],
      ['GET', `/v1/people/${person}/domiciliation`],
      ['POST', `/v1/people/${person}/mail/hand-over`, {}],
      ['POST', `/v1/people/${person}/mail`, { kind: 'letter' }],
    ];
    for (const [method, path, json] of paths) {
      const reply = await t.api.request(method, path, { token: otherToken, json });
      expectProblem(reply, 404);
    }
    // Nothing of the person changed.
    const mine = await t.api.get(`/v1/people/${person}/mail`, { token });
    expect(mine.body.items.every((i: { status: string }) => i.status === 'pending')).to.equal(true);
  });

  it('honours Idempotency-Key on every creating POST: replay, 422 on another body, per org', async () => {
    const headers = { 'Idempotency-Key': `person-${randomUUID()}` };
    const body = { lastName: 'Durand', firstName: 'Marie' };
    const first = await t.api.post('/v1/people', { token, json: body, headers });
    const again = await t.api.post('/v1/people', { token, json: { firstName: 'Marie', lastName: 'Durand' }, headers });
    expect(first.status).to.equal(201);
    expect(first.headers.get('idempotent-replayed')).to.equal(null);
    expect(again.status).to.equal(201);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    expect(again.body).to.deep.equal(first.body);
    const found = await t.api.get('/v1/people?name=durand', { token });
    expect(found.body.items).to.have.length(1);
    const other = await t.api.post('/v1/people', { token, json: { lastName: 'Autre', firstName: 'Marie' }, headers });
    expect(expectProblem(other, 422).detail).to.match(/already used for a different request/);
    // Another org's same key is its own.
    const theirs = await t.api.post('/v1/people', { token: otherToken, json: body, headers });
    expect(theirs.status).to.equal(201);
    expect(theirs.body.id).to.not.equal(first.body.id);

    // Users and tokens too; a replayed token creation gives back the same token.
    const userHeaders = { 'Idempotency-Key': `user-${randomUUID()}` };
    const user = { name: 'Zoé', email: `zoe-${randomUUID().slice(0, 6)}@x.test`, role: 'agent' };
    const u1 = await t.api.post('/v1/users', { token, json: user, headers: userHeaders });
    const u2 = await t.api.post('/v1/users', { token, json: user, headers: userHeaders });
    expect([u1.status, u2.status]).to.deep.equal([201, 201]);
    expect(u2.body.id).to.equal(u1.body.id);
    const tokenHeaders = { 'Idempotency-Key': `token-${randomUUID()}` };
    const t1 = await t.api.post(`/v1/users/${u1.body.id}/tokens`, { token, json: { label: 'scanner' }, headers: tokenHeaders });
    const t2 = await t.api.post(`/v1/users/${u1.body.id}/tokens`, { token, json: { label: 'scanner' }, headers: tokenHeaders });
    expect(t2.body).to.deep.equal(t1.body);
    expect(t2.headers.get('idempotent-replayed')).to.equal('true');
  });

  it('marks every API answer Cache-Control: no-store', async () => {
    for (const path of ['/v1/me', `/v1/people/${person}`, `/v1/people/${person}/mail`, '/v1/nothing']) {
      const reply = await t.api.get(path, { token });
      expect(reply.headers.get('cache-control'), path).to.equal('no-store');
    }
  });
});

describe('a retry after a timed-out creation (504)', function () {
  this.timeout(120_000);
  let t: TestGateway;
  let contacts: Awaited<ReturnType<typeof startNode>>;
  // The next person creations to answer late: the person is stored, the gateway's call times out.
  let late = 0;

  before(async () => {
    const config = gatewayTestConfig({ REQUEST_TIMEOUT_MS: '1000' });
    t = await startTestGateway({ config, routes: [...serviceRoutes], healthServices: ['contacts'] });
    const schema = contactsService(config);
    schema.hooks = {
      after: {
        async createPerson(_ctx: Context, res: unknown) {
          if (late > 0) {
            late -= 1;
            await new Promise((r) => setTimeout(r, 2_500));
          }
          return res;
        },
      },
    };
    contacts = await startNode(config, 'contacts', [schema]);
    await t.gw.broker.waitForServices(['contacts'], 30_000);
  });
  after(async () => {
    await contacts?.stop();
    await t?.close();
  });

  it('finds the first creation instead of creating the person twice, and still refuses another body', async () => {
    const org = await createOrgWithAdmin(t.gw.store, { name: `T ${randomUUID().slice(0, 8)}`, admin: { name: 'A', email: 'a@t.test' } });
    const token = org.token.token;
    const headers = { 'Idempotency-Key': `p-${randomUUID()}` };
    const body = { lastName: 'Lenteur', firstName: 'Paul' };
    late = 1;
    const first = await t.api.post('/v1/people', { token, json: body, headers });
    expect(expectProblem(first, 504).detail).to.match(/same Idempotency-Key/);
    const stored = await eventually(async () => (await t.api.get('/v1/people?name=lenteur', { token })).body.items[0], { what: 'the stored person' });

    expect(expectProblem(await t.api.post('/v1/people', { token, json: { ...body, firstName: 'Jean' }, headers }), 422).detail).to.match(/different request/);
    const retry = await t.api.post('/v1/people', { token, json: body, headers });
    expect(retry.status).to.equal(201);
    expect(retry.body.id).to.equal(stored.id);
    expect((await t.api.get('/v1/people?name=lenteur', { token })).body.items).to.have.length(1);
    // Then an ordinary replay.
    const replay = await t.api.post('/v1/people', { token, json: body, headers });
    expect(replay.headers.get('idempotent-replayed')).to.equal('true');
    expect(replay.body.id).to.equal(stored.id);
  });
});

describe('gateway connections', function () {
  this.timeout(120_000);
  let t: TestStack;
  let nats: { url: string; stop(): Promise<void> };
  let natsPort: number;
  let natsDir: string;
  before(async () => {
    // A NATS of this test's own, so that it can be stopped and started again.
    natsPort = await freePort();
    natsDir = await mkdtemp(path.join(os.tmpdir(), 'relais-outage-'));
    nats = await spawnNatsServer(undefined, natsDir, natsPort);
    t = await startTestStack({ NATS_URL: nats.url, GATEWAY_HEADERS_TIMEOUT_MS: '1000', GATEWAY_REQUEST_TIMEOUT_MS: '2000' });
  });
  after(async () => {
    await t?.close();
    await nats?.stop();
    if (natsDir) await rm(natsDir, { recursive: true, force: true });
  });

  it('closes a connection whose headers or body come too slowly', async () => {
    const url = new URL(t.api.baseUrl);
    const timed = (payload: string) =>
      new Promise<number>((resolve, reject) => {
        const started = Date.now();
        const socket = net.connect(Number(url.port), url.hostname, () => socket.write(payload));
        socket.on('error', reject);
        socket.on('close', () => resolve(Date.now() - started));
        socket.resume();
      });
    expect(await timed('GET /v1/me HTTP/1.1\r\nHost: x\r\n')).to.be.below(4_000);
    expect(await timed('POST /v1/people HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{')).to.be.below(5_000);
  });

  it('answers 503 with Retry-After at once while NATS is down, and works again once it is back', async () => {
    const org = await createOrgWithAdmin(t.gw.store, { name: `N ${randomUUID().slice(0, 8)}`, admin: { name: 'A', email: 'a@n.test' } });
    const create = () => t.api.post('/v1/people', { token: org.token.token, json: { lastName: 'X', firstName: 'Y' } });
    expect((await create()).status).to.equal(201);
    await nats.stop();
    await eventually(async () => (await create()).status === 503, { what: 'a 503 once NATS is down', timeoutMs: 10_000 });
    const started = Date.now();
    const reply = await create();
    expect(Date.now() - started).to.be.below(1_000);
    expectProblem(reply, 503);
    expect(reply.headers.get('retry-after')).to.equal('5');
    nats = await spawnNatsServer(undefined, natsDir, natsPort);
    await eventually(async () => (await create()).status === 201, { what: 'a 201 once NATS is back', timeoutMs: 30_000 });
  });
});
