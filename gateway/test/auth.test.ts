import { expect } from 'chai';
import { eventually } from '@relais/testing';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { PLATFORM_TOKEN, TEST_TOKEN_TTL_MS, expectProblem, startTestGateway, type TestGateway } from './support';
import type { Api } from './support';

describe('gateway authentication and accounts', function () {
  this.timeout(30_000);
  let t: TestGateway;
  let api: Api;
  // Org A, created through the platform route; org B and the agent directly through the store.
  let a: { orgId: string; adminId: string; adminToken: string; adminTokenId: string };
  let agent: { userId: string; token: string; tokenId: string };
  let b: { adminToken: string };

  before(async function () {
    this.timeout(60_000);
    t = await startTestGateway();
    api = t.api;
    const orgB = await createOrgWithAdmin(t.gw.store, { name: 'Org B', admin: { name: 'Bea', email: 'bea@b.example' } });
    b = { adminToken: orgB.token.token };
  });

  after(async function () {
    this.timeout(60_000);
    await t?.close();
  });

  describe('POST /v1/orgs (platform operator)', () => {
    it('refuses a caller without the platform token', async () => {
      expectProblem(await api.post('/v1/orgs', { json: { name: 'X', admin: { name: 'x', email: 'x@x.fr' } } }), 401);
      const wrong = await api.post('/v1/orgs', { token: b.adminToken, json: { name: 'X', admin: { name: 'x', email: 'x@x.fr' } } });
      expectProblem(wrong, 401);
      expect(wrong.headers.get('www-authenticate')).to.match(/^Bearer /);
    });

    it('rejects an unknown region, a bad time zone and unknown fields with readable messages', async () => {
      const reply = await api.post('/v1/orgs', {
        token: PLATFORM_TOKEN,
        json: { name: 'X', region: 'fr', timeZone: 'Paris', admin: { name: 'x', email: 'x@x.fr', isRoot: true } },
      });
      expect(expectProblem(reply, 422).errors).to.deep.equal([
        { path: 'region', message: 'must be an ISO 3166 alpha-2 region code in capitals, such as FR, RE or GP' },
        { path: 'timeZone', message: 'must be an IANA time zone such as Europe/Paris, Indian/Reunion or America/Martinique' },
        { path: 'admin', message: 'unknown field(s): isRoot' },
      ]);
    });

    it('creates the org and its first admin, whose token works at once', async () => {
      const reply = await api.post('/v1/orgs', {
        token: PLATFORM_TOKEN,
        json: { name: 'CCAS Saint-Denis', region: 'RE', timeZone: 'Indian/Reunion', admin: { name: 'Ana', email: 'Ana@Example.ORG' } },
      });
      expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
      const { org, admin, token } = reply.body;
      expect(org).to.include({ name: 'CCAS Saint-Denis', region: 'RE', timeZone: 'Indian/Reunion' });
      expect(admin).to.include({ orgId: org.id, role: 'admin', email: 'ana@example.org', disabled: false });
      expect(token.token).to.match(/^rl_[A-Za-z0-9_-]{43}$/);
      a = { orgId: org.id, adminId: admin.id, adminToken: token.token, adminTokenId: token.id };

      const me = await api.get('/v1/me', { token: a.adminToken });
      expect(me.status).to.equal(200);
      expect(me.body.user.id).to.equal(a.adminId);
      expect(me.body.org).to.include({ region: 'RE', timeZone: 'Indian/Reunion' });
      // Recorded off the request path, once per cache miss.
      await eventually(() => t.gw.store.tokenUsage.lastUsedAt(a.orgId, a.adminTokenId), { timeoutMs: 5_000, what: 'lastUsedAt' });

      const created = await createUserWithToken(t.gw.store, a.orgId, { name: 'Agnès', email: 'agnes@example.org', role: 'agent' });
      agent = { userId: created.user.id, token: created.token.token, tokenId: created.token.id };
    });
  });

  describe('bearer tokens', () => {
    it('answers 401 with a Bearer challenge without a token', async () => {
      const reply = await api.get('/v1/me');
      expect(expectProblem(reply, 401).detail).to.match(/Authorization: Bearer/);
      expect(reply.headers.get('www-authenticate')).to.equal('Bearer realm="relais"');
    });

    it('answers 401 for a malformed, an unknown or a non-Bearer credential', async () => {
      for (const header of ['Bearer nonsense', `Bearer rl_${'A'.repeat(43)}`, `Basic ${Buffer.from('a:b').toString('base64')}`]) {
        const reply = await api.get('/v1/me', { headers: { authorization: header } });
        expectProblem(reply, 401);
        expect(reply.headers.get('www-authenticate')).to.match(/^Bearer realm="relais"/);
      }
      const unknown = await api.get('/v1/me', { token: `rl_${'B'.repeat(43)}` });
      expect(unknown.headers.get('www-authenticate')).to.equal('Bearer realm="relais", error="invalid_token"');
    });

    it('a revoked token keeps working at most for the cache TTL (revoked by another instance)', async () => {
      const { token } = await createUserWithToken(t.gw.store, a.orgId, { name: 'Cy', email: 'cy@example.org', role: 'caseworker' });
      expect((await api.get('/v1/me', { token: token.token })).status).to.equal(200);
      // Another gateway instance revoking it: only the database changes.
      await t.gw.store.tokens.revoke(a.orgId, token.id, new Date());
      const revokedAt = Date.now();
      expect((await api.get('/v1/me', { token: token.token })).status, 'still cached').to.equal(200);
      await eventually(async () => (await api.get('/v1/me', { token: token.token })).status === 401, {
        timeoutMs: TEST_TOKEN_TTL_MS + 5_000,
        intervalMs: 100,
        what: 'revoked token refused',
      });
      expect(Date.now() - revokedAt).to.be.below(TEST_TOKEN_TTL_MS + 1_000);
    });

    it('a token revoked through this gateway stops working at once', async () => {
      const { token } = await createUserWithToken(t.gw.store, a.orgId, { name: 'Dee', email: 'dee@example.org', role: 'manager' });
      expect((await api.get('/v1/me', { token: token.token })).status).to.equal(200);
      const revoke = await api.delete(`/v1/tokens/${token.id}`, { token: token.token });
      expect(revoke.status).to.equal(204);
      expectProblem(await api.get('/v1/me', { token: token.token }), 401);
    });
  });

  describe('users and roles', () => {
    it('an admin creates and lists users; a duplicate e-mail is a conflict', async () => {
      const created = await api.post('/v1/users', { token: a.adminToken, json: { name: 'Max', email: 'max@example.org', role: 'manager' } });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body).to.include({ orgId: a.orgId, role: 'manager', disabled: false });
      expectProblem(await api.post('/v1/users', { token: a.adminToken, json: { name: 'Max 2', email: 'MAX@example.org', role: 'agent' } }), 409);
      const list = await api.get('/v1/users', { token: a.adminToken });
      expect(list.body.items.map((u: { email: string }) => u.email)).to.include.members(['ana@example.org', 'max@example.org']);
    });

    it('validates user creation with messages a person can act on, rejecting unknown fields', async () => {
      const reply = await api.post('/v1/users', { token: a.adminToken, json: { email: 'nope', role: 'boss', isAdmin: true } });
      const problem = expectProblem(reply, 422);
      expect(problem.errors).to.deep.equal([
        { path: 'name', message: 'is required' },
        { path: 'email', message: 'must be an e-mail address' },
        { path: 'role', message: 'must be one of admin, manager, caseworker, agent' },
        { path: '', message: 'unknown field(s): isAdmin' },
      ]);
      expect(problem.detail).to.match(/^Invalid input: name: is required; email: must be an e-mail address/);
    });

    it('an agent may not create users (403)', async () => {
      const reply = await api.post('/v1/users', { token: agent.token, json: { name: 'Eve', email: 'eve@example.org', role: 'admin' } });
      expect(expectProblem(reply, 403).detail).to.match(/admin/);
    });

    it('a user creates their own token but not one for someone else', async () => {
      const own = await api.post(`/v1/users/${agent.userId}/tokens`, { token: agent.token, json: { label: 'laptop' } });
      expect(own.status).to.equal(201);
      expect(own.body).to.include({ userId: agent.userId, label: 'laptop' });
      expect((await api.get('/v1/me', { token: own.body.token })).body.user.id).to.equal(agent.userId);
      expectProblem(await api.post(`/v1/users/${a.adminId}/tokens`, { token: agent.token, json: {} }), 403);
      // Someone else's token is invisible, not forbidden.
      expectProblem(await api.delete(`/v1/tokens/${a.adminTokenId}`, { token: agent.token }), 404);
    });

    it('lists tokens without their secret: admins the org, others their own; revoked ones on request', async () => {
      const laptop = await api.post(`/v1/users/${agent.userId}/tokens`, { token: agent.token, json: { label: 'old laptop' } });
      expect((await api.delete(`/v1/tokens/${laptop.body.id}`, { token: agent.token })).status).to.equal(204);
      const own = await api.get('/v1/tokens', { token: agent.token });
      expect(own.status).to.equal(200);
      expect(own.body.items.map((i: { userId: string }) => i.userId)).to.satisfy((ids: string[]) => ids.length > 0 && ids.every((id) => id === agent.userId));
      expect(own.body.items.map((i: { id: string }) => i.id)).to.not.include(laptop.body.id);
      expect(JSON.stringify(own.body)).to.not.match(/rl_/);
      const all = await api.get('/v1/tokens?include=all', { token: agent.token });
      expect(all.body.items.find((i: { id: string }) => i.id === laptop.body.id))
        .to.include({ label: 'old laptop' })
        .and.have.property('revokedAt')
        .that.is.a('string');
      expectProblem(await api.get(`/v1/tokens?userId=${a.adminId}`, { token: agent.token }), 403);

      const org = await api.get('/v1/tokens', { token: a.adminToken });
      const ids = org.body.items.map((i: { id: string }) => i.id);
      expect(ids).to.include.members([a.adminTokenId, agent.tokenId]);
      const admins = await api.get(`/v1/tokens?userId=${a.adminId}`, { token: a.adminToken });
      expect(admins.body.items.find((i: { id: string }) => i.id === a.adminTokenId).lastUsedAt).to.be.a('string');
      expectProblem(await api.get(`/v1/tokens?userId=${a.adminId}`, { token: b.adminToken }), 404);
      expectProblem(await api.get('/v1/tokens?include=some', { token: a.adminToken }), 422);
    });

    it("another org's user and token ids are 404, never 403", async () => {
      expectProblem(await api.get(`/v1/users/${a.adminId}`, { token: b.adminToken }), 404);
      expectProblem(await api.patch(`/v1/users/${agent.userId}`, { token: b.adminToken, json: { disabled: true } }), 404);
      expectProblem(await api.post(`/v1/users/${agent.userId}/tokens`, { token: b.adminToken, json: {} }), 404);
      expectProblem(await api.delete(`/v1/tokens/${agent.tokenId}`, { token: b.adminToken }), 404);
      expect((await api.get('/v1/me', { token: agent.token })).status, 'agent token untouched').to.equal(200);
    });

    it('disabling a user refuses their tokens at once; an admin cannot lock themselves out', async () => {
      const { user, token } = await createUserWithToken(t.gw.store, a.orgId, { name: 'Gus', email: 'gus@example.org', role: 'agent' });
      expect((await api.get('/v1/me', { token: token.token })).status).to.equal(200);
      const patched = await api.patch(`/v1/users/${user.id}`, { token: a.adminToken, json: { disabled: true, role: 'caseworker' } });
      expect(patched.body).to.include({ disabled: true, role: 'caseworker' });
      expectProblem(await api.get('/v1/me', { token: token.token }), 401);
      expectProblem(await api.patch(`/v1/users/${a.adminId}`, { token: a.adminToken, json: { role: 'agent' } }), 409);
      expectProblem(await api.patch(`/v1/users/${user.id}`, { token: a.adminToken, json: {} }), 422);
    });
  });
});
