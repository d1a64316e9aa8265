import { expect } from 'chai';
import { Errors } from 'moleculer';
import { z } from 'zod';
import { baseConfigSchema, conflict, forbidden, loadConfig, notFound, parseInput, toProblem } from '../src';

describe('errors map to problem+json in one place', () => {
  it('maps our own errors to their status with their message', () => {
    expect(toProblem(notFound('Mail item'))).to.include({ status: 404, detail: 'Mail item was not found' });
    expect(toProblem(forbidden('no'))).to.include({ status: 403, title: 'Forbidden' });
    expect(toProblem(conflict('taken'))).to.include({ status: 409 });
  });

  it('maps an unreachable service to 503 and a timeout to 504', () => {
    expect(toProblem(new Errors.ServiceNotFoundError({ action: 'mail.register' })).status).to.equal(503);
    expect(toProblem(new Errors.ServiceNotAvailableError({ action: 'mail.register' })).status).to.equal(503);
    expect(toProblem(new Errors.RequestTimeoutError({ action: 'mail.register', nodeID: 'x' })).status).to.equal(504);
  });

  it('never leaks the message or data of an unexpected error', () => {
    const err = Object.assign(new Error('connection string mongodb://secret'), { data: { secret: 1 } });
    const p = toProblem(err);
    expect(p.status).to.equal(500);
    expect(JSON.stringify(p)).not.to.contain('secret');
  });

  it('reports every invalid field with its path and a readable message', () => {
    const schema = z.strictObject({ kind: z.enum(['letter', 'parcel']), quantity: z.number().int() });
    try {
      parseInput(schema, { kind: 'fax', colour: 'red' });
      expect.fail('accepted');
    } catch (err) {
      const p = toProblem(err);
      expect(p.status).to.equal(422);
      const paths = p.errors!.map((e) => e.path);
      expect(paths).to.include.members(['kind', 'quantity']);
      expect(p.errors!.find((e) => e.path === 'quantity')!.message).to.equal('is required');
      expect(p.detail).to.contain('unknown field(s): colour');
    }
  });
});

describe('configuration', () => {
  it('names each missing or malformed variable', () => {
    expect(() => loadConfig(baseConfigSchema, { NATS_URL: 'nats://x', MONGO_URL: 'postgres://x', REQUEST_TIMEOUT_MS: 'soon' })).to.throw(
      /MONGO_URL is invalid: must be a MongoDB connection string[\s\S]*REQUEST_TIMEOUT_MS is invalid/,
    );
    expect(() => loadConfig(baseConfigSchema, { MONGO_URL: 'mongodb://x' })).to.throw(/NATS_URL is not set/);
  });

  it('applies defaults', () => {
    const c = loadConfig(baseConfigSchema, { NATS_URL: 'nats://x', MONGO_URL: 'mongodb://x' });
    expect(c).to.include({ RELAIS_NAMESPACE: 'relais', DB_UPDATE_BATCH: 10, REQUEST_TIMEOUT_MS: 10_000 });
  });
});
