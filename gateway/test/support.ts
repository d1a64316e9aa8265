import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { ServiceBroker } from 'moleculer';
import { contactsService } from '@relais/contacts';
import { domiciliationService } from '@relais/domiciliation';
import { exchangesService } from '@relais/exchanges';
import { exchangesConfigSchema } from '@relais/exchanges/config';
import { mailService } from '@relais/mail';
import { notificationsService } from '@relais/notifications';
import { MemoryProvider, notificationsTestConfig } from '@relais/testing/notifications';
import { dropTestDatabases, freePort, startNode, uniqueNamespace, type Parsed } from '@relais/testing';
import type { Route } from '@relais/shared';
import { serviceRoutes } from '../src/routes';
import { loadGatewayConfig, type GatewayConfig } from '../src/config';
import { startGateway, type RunningGateway, type StartOptions } from '../src/server';

export const PLATFORM_TOKEN = `platform-${randomBytes(16).toString('hex')}`;
/** Short, so the cache-expiry test waits well under a second; long enough to observe a cache hit. */
export const TEST_TOKEN_TTL_MS = 1_000;

/** A gateway config in a namespace of its own: its database is `<ns>_gateway`, its broker namespace differs. */
export function gatewayTestConfig(overrides: Record<string, string> = {}): GatewayConfig {
  return loadGatewayConfig({
    ...process.env,
    RELAIS_NAMESPACE: uniqueNamespace(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    GATEWAY_PORT: '0',
    DB_TIMEOUT_MS: '20000',
    REQUEST_TIMEOUT_MS: '5000',
    RELAIS_PLATFORM_TOKEN: PLATFORM_TOKEN,
    TOKEN_CACHE_TTL_MS: String(TEST_TOKEN_TTL_MS),
    ...overrides,
  });
}

export interface TestGateway {
  config: GatewayConfig;
  gw: RunningGateway;
  api: Api;
  /** Stops the gateway and drops the namespace's databases. */
  close(): Promise<void>;
}

export async function startTestGateway(options: StartOptions & { routes?: Route[]; config?: GatewayConfig } = {}): Promise<TestGateway> {
  const config = options.config ?? gatewayTestConfig();
  let gw: RunningGateway;
  try {
    gw = await startGateway(config, options.routes ?? [], {
      healthServices: options.healthServices ?? [],
      callbacks: options.callbacks,
    });
  } catch (err) {
    // The database may exist already (indexes are created first): leave nothing behind.
    await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE).catch(() => {});
    throw err;
  }
  return {
    config,
    gw,
    api: new Api(gw.url),
    async close() {
      await gw.stop();
      await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
    },
  };
}

export const STACK_SERVICES = ['contacts', 'domiciliation', 'mail', 'notifications', 'exchanges'] as const;

export interface TestStack extends TestGateway {
  nodes: ServiceBroker[];
  sms: MemoryProvider;
  email: MemoryProvider;
  /** The exchanges service's inbound SMTP listener (replies and bounces), and the domain it takes mail for. */
  inbound: { port: number; domain: string };
}

/**
 * The whole system over HTTP: the real services on their own brokers, the gateway on its own,
 * real NATS and the real database.
 */
export async function startTestStack(overrides: Record<string, string> = {}, more: { notifications?: Record<string, string> } = {}): Promise<TestStack> {
  const config = gatewayTestConfig({ REQUEST_TIMEOUT_MS: '15000', ...overrides });
  const t = await startTestGateway({ config, routes: [...serviceRoutes], healthServices: [...STACK_SERVICES] });
  const sms = new MemoryProvider();
  const email = new MemoryProvider();
  const inbound = { port: await freePort(), domain: 'exchanges.relais.test' };
  const exchangesConfig = exchangesConfigSchema.parse({
    ...config,
    INBOUND_SMTP_PORT: inbound.port,
    EXCHANGES_MAIL_DOMAIN: inbound.domain,
    EMAIL_RESEND_AFTER_MS: '1000',
  });
  const nodes = [
    await startNode(config, 'contacts', [contactsService(config)]),
    await startNode(config, 'domiciliation', [domiciliationService(config)]),
    await startNode(config, 'mail', [mailService(config)]),
    await startNode(config, 'notifications', [
      notificationsService(notificationsTestConfig(config, more.notifications), { smsProvider: sms, emailProvider: email }),
    ]),
    await startNode(config, 'exchanges', [exchangesService(exchangesConfig)]),
  ];
  await t.gw.broker.waitForServices([...STACK_SERVICES], 30_000);
  return {
    ...t,
    nodes,
    sms,
    email,
    inbound,
    async close() {
      await Promise.all(nodes.map((n) => n.stop()));
      await t.close();
    },
  };
}

export type { Parsed };

export interface Reply {
  status: number;
  headers: Headers;
  body: Parsed;
}

interface RequestOptions {
  token?: string;
  /** Serialised as JSON with Content-Type: application/json. */
  json?: unknown;
  /** Sent as is (with the headers given). */
  body?: string;
  headers?: Record<string, string>;
}

/** A small HTTP client: every request is bounded in time. */
export class Api {
  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, headers: res.headers, body: /json/.test(type) && text ? JSON.parse(text) : text };
  }

  get = (path: string, opts?: RequestOptions) => this.request('GET', path, opts);
  post = (path: string, opts?: RequestOptions) => this.request('POST', path, opts);
  patch = (path: string, opts?: RequestOptions) => this.request('PATCH', path, opts);
  put = (path: string, opts?: RequestOptions) => this.request('PUT', path, opts);
  delete = (path: string, opts?: RequestOptions) => this.request('DELETE', path, opts);
}

/** Every error is problem+json with status, title and detail, and never a stack trace. */
export function expectProblem(reply: Reply, status: number): { detail: string; errors?: { path: string; message: string }[] } {
  expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
  expect(reply.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(reply.body).to.include({ status, type: 'about:blank' });
  expect(reply.body.title).to.be.a('string');
  expect(reply.body.detail)
    .to.be.a('string')
    .and.not.match(/\n\s+at /);
  expect(reply.body).to.not.have.any.keys('stack', 'data');
  return reply.body;
}
