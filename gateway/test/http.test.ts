import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { z } from 'zod';
import { STAFF, type Route } from '@relais/shared';
import { createApp } from '../src/app';
import { createOrgWithAdmin } from '../src/auth/accounts';
import { serviceRoutes } from '../src/routes';
import { Api, expectProblem, startTestGateway, type Parsed, type TestGateway } from './support';

// Mounted but never called here: the document and the error paths only need the table.
const testRoutes: Route[] = [
  {
    method: 'post',
    path: '/v1/widgets/:widgetId/parts',
    action: 'widgets.addPart',
    input: z.strictObject({ widgetId: z.uuid(), name: z.string().min(1), size: z.number().int().optional() }),
    output: z.object({ id: z.string() }),
    status: 201,
    roles: STAFF,
    idempotent: true,
    summary: 'Add a part',
    tag: 'Widgets',
  },
  {
    method: 'get',
    path: '/v1/widgets',
    action: 'widgets.list',
    input: z.strictObject({ q: z.string().max(50).optional().describe('Search text') }),
    roles: ['admin'],
    summary: 'List widgets',
    tag: 'Widgets',
  },
];

describe('gateway HTTP surface', function () {
  this.timeout(30_000);
  let t: TestGateway;
  let api: Api;
  let adminToken: string;

  before(async function () {
    this.timeout(60_000);
    t = await startTestGateway({ routes: testRoutes });
    api = t.api;
    const created = await createOrgWithAdmin(t.gw.store, { name: 'Http Org', admin: { name: 'Ada', email: 'ada@example.org' } });
    adminToken = created.token.token;
  });

  after(async function () {
    this.timeout(60_000);
    await t?.close();
  });

  describe('errors are problem+json', () => {
    it('answers an unknown route with 404', async () => {
      const reply = await api.get('/v1/nothing-here');
      expect(expectProblem(reply, 404).detail).to.equal('No route matches GET /v1/nothing-here.');
    });

    it('answers a wrong method with 405 and the Allow header', async () => {
      const reply = await api.request('PUT', '/v1/users');
      expectProblem(reply, 405);
      expect(reply.headers.get('allow')).to.equal('GET, HEAD, POST');
      const onHealth = await api.delete('/healthz');
      expectProblem(onHealth, 405);
      expect(onHealth.headers.get('allow')).to.equal('GET, HEAD');
    });

    it('answers OPTIONS on a known path with 204 and Allow', async () => {
      const reply = await api.request('OPTIONS', '/v1/users');
      expect(reply.status).to.equal(204);
      expect(reply.headers.get('allow')).to.equal('GET, HEAD, POST');
    });

    it('refuses at start-up a route whose path parameter is missing from its input', () => {
      const route: Route = { ...testRoutes[0], path: '/v1/widgets/:widgetId/parts/:partId' };
      expect(() => createApp({ broker: t.gw.broker, store: t.gw.store, routes: [route], config: t.config })).to.throw(/path parameter partId is missing/);
    });

    it('refuses a body that is not JSON with 415', async () => {
      const reply = await api.post('/v1/users', { body: 'name=Bob', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(expectProblem(reply, 415).detail).to.match(/Content-Type: application\/json/);
      expectProblem(await api.post('/v1/users', { body: '{"name":"x"}', headers: { 'content-type': 'text/plain' } }), 415);
    });

    it('answers malformed JSON with a readable 400 that does not echo the body', async () => {
      const reply = await api.post('/v1/users', { body: '{"name": "secret-value", ', headers: { 'content-type': 'application/json' }, token: adminToken });
      const { detail } = expectProblem(reply, 400);
      expect(detail).to.match(/^The request body is not valid JSON/);
      expect(detail).to.not.include('secret-value');
    });

    it('answers a body over 256 kB with 413', async () => {
      const reply = await api.post('/v1/users', { json: { name: 'x'.repeat(300 * 1024) }, token: adminToken });
      expect(expectProblem(reply, 413).detail).to.match(/larger than the 256 kB/);
    });

    it('answers a JSON body that is not an object with 422', async () => {
      const reply = await api.post('/v1/users', { json: [{ name: 'x' }], token: adminToken });
      expect(expectProblem(reply, 422).errors).to.deep.equal([{ path: '(body)', message: 'must be a JSON object' }]);
    });

    it('answers a malformed percent-encoding in the path with 4xx, not 500', async () => {
      const reply = await api.get('/v1/users/%E0%A4%A', { token: adminToken });
      expect(reply.status).to.be.within(400, 499);
      expect(reply.headers.get('content-type')).to.match(/^application\/problem\+json/);
    });
  });

  describe('request ids, logging and headers', () => {
    it('generates an X-Request-Id when absent and keeps a sane one', async () => {
      const generated = await api.get('/healthz');
      expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      const kept = await api.get('/healthz', { headers: { 'x-request-id': 'client-req-42' } });
      expect(kept.headers.get('x-request-id')).to.equal('client-req-42');
      const replaced = await api.get('/healthz', { headers: { 'x-request-id': 'x'.repeat(201) } });
      expect(replaced.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    });

    it('sets helmet headers', async () => {
      const reply = await api.get('/healthz');
      expect(reply.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(reply.headers.get('content-security-policy')).to.include("script-src 'self'");
      // The docs page must work over plain HTTP on any host.
      expect(reply.headers.get('content-security-policy')).to.not.include('upgrade-insecure-requests');
      expect(reply.headers.get('x-powered-by')).to.equal(null);
    });
  });

  describe('health', () => {
    it('healthz is 200 without authentication', async () => {
      const reply = await api.get('/healthz');
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ status: 'ok' });
    });

    it('readyz is 200 when the broker is connected, the database answers and no service is required', async () => {
      const reply = await api.get('/readyz');
      expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
      expect(reply.body.checks).to.deep.equal({ broker: true, database: true, services: {} });
    });
  });

  describe('OpenAPI and docs', () => {
    let doc: Parsed;
    before(async () => {
      doc = (await api.get('/openapi.json')).body;
    });

    it('is an OpenAPI 3.1 document with bearer security and the problem schema', () => {
      expect(doc.openapi).to.equal('3.1.0');
      expect(doc.info.title).to.be.a('string');
      expect(doc.components.securitySchemes.bearer).to.deep.equal({
        type: 'http',
        scheme: 'bearer',
        description: doc.components.securitySchemes.bearer.description,
      });
      expect(doc.security).to.deep.equal([{ bearer: [] }]);
      expect(doc.components.schemas.Problem.properties).to.include.keys('type', 'title', 'status', 'detail', 'errors');
      expect(doc.components.responses.ClientError.content['application/problem+json'].schema).to.deep.equal({
        $ref: '#/components/schemas/Problem',
      });
      expect(doc.tags.map((t: { name: string }) => t.name)).to.include.members(['Accounts', 'Operations', 'Widgets']);
    });

    it('lists every route: the gateway’s own, health and docs, and the route table', () => {
      const ops = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item as object).map((m) => `${m} ${p}`));
      expect(ops).to.include.members([
        'get /healthz',
        'get /readyz',
        'get /openapi.json',
        'get /docs',
        'post /v1/orgs',
        'get /v1/me',
        'get /v1/users',
        'post /v1/users',
        'get /v1/users/{userId}',
        'patch /v1/users/{userId}',
        'post /v1/users/{userId}/tokens',
        'delete /v1/tokens/{tokenId}',
        'post /v1/widgets/{widgetId}/parts',
        'get /v1/widgets',
      ]);
      for (const item of Object.values<Record<string, { operationId: unknown; responses: Record<string, unknown> }>>(doc.paths)) {
        for (const op of Object.values(item)) {
          expect(op.operationId).to.be.a('string');
          expect(op.responses['5XX']).to.deep.equal({ $ref: '#/components/responses/ServerError' });
        }
      }
      expect(doc.paths['/healthz'].get.security).to.deep.equal([]);
      expect(doc.paths['/v1/orgs'].post.security).to.deep.equal([{ platformToken: [] }]);
    });

    it('converts the zod schemas: path and query parameters, strict bodies, responses', () => {
      const add = doc.paths['/v1/widgets/{widgetId}/parts'].post;
      expect(add.operationId).to.equal('widgets.addPart');
      expect(add.parameters).to.deep.include({ name: 'widgetId', in: 'path', required: true, schema: add.parameters[0].schema });
      expect(add.parameters[0].schema).to.include({ type: 'string', format: 'uuid' });
      expect(add.parameters.map((p: { name: string }) => p.name)).to.include('Idempotency-Key');
      const body = add.requestBody.content['application/json'].schema;
      expect(body).to.include({ type: 'object', additionalProperties: false });
      expect(body.required).to.deep.equal(['name']);
      expect(body.properties).to.have.keys('name', 'size');
      expect(body.properties.size.type).to.equal('integer');
      expect(add.responses['201'].content['application/json'].schema.properties).to.have.keys('id');
      expect(add.responses['422']).to.deep.equal({ $ref: '#/components/responses/InvalidInput' });

      const list = doc.paths['/v1/widgets'].get;
      expect(list.parameters).to.deep.equal([
        { name: 'q', in: 'query', required: false, description: 'Search text', schema: { type: 'string', maxLength: 50 } },
      ]);
      expect(list['x-relais-roles']).to.deep.equal(['admin']);
      expect(doc.paths['/v1/tokens/{tokenId}'].delete.responses['204']).to.deep.equal({ description: 'Done; no content' });
    });

    it('documents every route of the real service table', async () => {
      // Same broker and store; only the route table differs.
      const app = createApp({ broker: t.gw.broker, store: t.gw.store, routes: serviceRoutes, config: t.config });
      const server = http.createServer(app).listen(0);
      try {
        await new Promise((r) => server.once('listening', r));
        const real = (await new Api(`http://127.0.0.1:${(server.address() as AddressInfo).port}`).get('/openapi.json')).body;
        for (const route of serviceRoutes) {
          const op = real.paths[route.path.replace(/:(\w+)/g, '{$1}')]?.[route.method];
          expect(op, `${route.method} ${route.path}`).to.include({ operationId: route.action, summary: route.summary });
        }
      } finally {
        server.close();
      }
    });

    it('serves a self-contained docs page', async () => {
      const page = await api.get('/docs');
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(page.body).to.include('<script src="/docs/docs.js"');
      expect(page.body).to.not.match(/https?:\/\/(?!json-schema)/);
      const script = await api.get('/docs/docs.js');
      expect(script.status).to.equal(200);
      expect(script.headers.get('content-type')).to.match(/javascript/);
      expect(script.body).to.include("fetch('/openapi.json')");
    });
  });
});
