import { expect } from 'chai';
import { parseInput } from '@relais/shared';
import { API_INFO } from '../src/app';
import { accountOperations } from '../src/auth/routes';
import { docsDocs } from '../src/docs';
import { healthDocs } from '../src/health';
import type { OperationDoc } from '../src/http/operation';
import { buildOpenApi, problemSchema, samplerOf } from '../src/openapi';
import { PeopleOfOrgs, serviceOperation, serviceRoutes } from '../src/routes';
import type { Parsed } from './support';

type Json = Record<string, Parsed>;

/**
 * Operations whose request example the route's own schema refuses, with the reason. Empty: where a
 * sampler cannot honour a constraint (a refinement, a cross-field rule), the schema in api.ts carries
 * `.meta({ examples: [...] })`. An entry that starts passing must be removed.
 */
const INVALID_REQUEST_EXAMPLES: Record<string, string> = {};

/** Success bodies without an output schema, so without a sampled example. */
const NO_SUCCESS_EXAMPLE: Record<string, string> = {
  'gateway.openapi': 'the body is this document itself',
  'gateway.docs': 'an HTML page',
};

/** Status codes each shared error response stands for. */
const ERROR_STATUSES: Record<string, (status: number) => boolean> = {
  BadRequest: (s) => s === 400,
  Unauthorized: (s) => s === 401,
  Forbidden: (s) => s === 403,
  InvalidInput: (s) => s === 422,
  ClientError: (s) => s >= 400 && s < 500,
  ServerError: (s) => s >= 500 && s < 600,
};

/**
 * The operations createApp documents, built without a database or a broker: the account routes and the
 * service routes only capture their dependencies, which the document never calls.
 */
function documentedOperations(): OperationDoc[] {
  const accounts = accountOperations({ store: {} as never, verifier: {} as never });
  const services = serviceRoutes.map((r) => serviceOperation(r, {} as never, {} as PeopleOfOrgs));
  return [...healthDocs, ...docsDocs, ...accounts, ...services];
}

describe('OpenAPI examples', () => {
  const ops = documentedOperations();
  // Read as the JSON it is served as, each test walking to the parts it checks.
  const doc: Json = buildOpenApi(ops, API_INFO);
  const sampleOf = samplerOf(doc);
  const operationOf = (op: OperationDoc): Json => doc.paths[op.path.replace(/:(\w+)/g, '{$1}')][op.method];

  it('names the gateway itself as the server, relative to the document', () => {
    expect(doc.servers).to.deep.equal([{ url: '/', description: doc.servers[0].description }]);
    expect(doc.servers[0].description).to.be.a('string');
  });

  it('gives every request body an example that the route’s own schema accepts', () => {
    const failures: string[] = [];
    const fixed: string[] = [];
    let bodies = 0;
    for (const op of ops) {
      const body = operationOf(op).requestBody?.content?.['application/json'];
      if (!body) continue;
      bodies++;
      if (body.example === undefined) {
        failures.push(`${op.operationId}: no example`);
        continue;
      }
      // Validated as the gateway does: the path parameters (sampled from their schemas) plus the body, strictly.
      const pathParams = Object.fromEntries(
        [...op.path.matchAll(/:(\w+)/g)].map(([, name]) => {
          const param = operationOf(op).parameters.find((p: Json) => p.in === 'path' && p.name === name);
          return [name, sampleOf(param.schema)];
        }),
      );
      const repeated = Object.keys(body.example).filter((k) => k in pathParams);
      let problem = repeated.length ? `repeats the path parameter(s) ${repeated.join(', ')}` : '';
      if (!problem) {
        try {
          parseInput(op.input!.strict(), { ...body.example, ...pathParams });
        } catch (err) {
          problem = JSON.stringify((err as { data?: { errors?: unknown } }).data?.errors ?? (err as Error).message);
        }
      }
      if (problem && !(op.operationId in INVALID_REQUEST_EXAMPLES)) failures.push(`${op.operationId}: ${problem}`);
      if (!problem && op.operationId in INVALID_REQUEST_EXAMPLES) fixed.push(op.operationId);
    }
    expect(bodies, 'operations with a request body').to.be.greaterThan(10);
    expect(failures, `request examples the route refuses:\n  ${failures.join('\n  ')}\n`).to.deep.equal([]);
    expect(fixed, 'now valid: remove from INVALID_REQUEST_EXAMPLES').to.deep.equal([]);
  });

  it('gives every success response with a body an example that its output schema accepts', () => {
    const failures: string[] = [];
    for (const op of ops) {
      const status = String(op.status ?? 200);
      const success = operationOf(op).responses[status];
      expect(success, `${op.operationId} ${status}`).to.be.an('object');
      if (status === '204') {
        expect(success.content, `${op.operationId}: a 204 has no body`).to.equal(undefined);
        continue;
      }
      const media = Object.values(success.content as Json)[0] as Json;
      if (op.operationId in NO_SUCCESS_EXAMPLE) {
        expect(op.output, op.operationId).to.equal(undefined);
        continue;
      }
      if (!op.output || media.example === undefined) {
        failures.push(`${op.operationId}: no example`);
        continue;
      }
      const parsed = op.output.safeParse(media.example);
      if (!parsed.success) failures.push(`${op.operationId}: ${JSON.stringify(parsed.error.issues)}`);
    }
    expect(failures, `success examples:\n  ${failures.join('\n  ')}\n`).to.deep.equal([]);
  });

  it('gives every error response a problem+json example of its own status', () => {
    const responses = doc.components.responses as Json;
    expect(Object.keys(responses)).to.have.members(Object.keys(ERROR_STATUSES));
    for (const [name, response] of Object.entries(responses)) {
      const example = response.content['application/problem+json'].example;
      expect(problemSchema.safeParse(example).success, `${name}: ${JSON.stringify(example)}`).to.equal(true);
      expect(ERROR_STATUSES[name](example.status), `${name} example status ${example.status}`).to.equal(true);
    }
    for (const op of ops) {
      for (const [code, response] of Object.entries(operationOf(op).responses as Json)) {
        if (/^2/.test(code)) continue;
        const name = String(response.$ref).replace('#/components/responses/', '');
        expect(responses[name], `${op.operationId} ${code}`).to.be.an('object');
      }
    }
  });

  it('is the same document on every build (examples are not random)', () => {
    expect(JSON.stringify(buildOpenApi(documentedOperations(), API_INFO))).to.equal(JSON.stringify(doc));
  });
});
