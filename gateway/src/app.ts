import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import type { ServiceBroker } from 'moleculer';
import { createLogger, type PinoLogger, type Route } from '@relais/shared';
import { bearerAuth, noAuth, platformAuth } from './auth/middleware';
import { portalAuth, portalOperations } from './auth/portal';
import { accountOperations } from './auth/routes';
import type { GatewayStore } from './auth/store';
import { TokenVerifier } from './auth/verifier';
import type { GatewayConfig } from './config';
import { docsDocs, docsPage, docsScript } from './docs';
import { SERVICES, healthDocs, healthz, readyz } from './health';
import { RouteRegistry, jsonOnly, noStore, requestId, requestLog, utf8Body, utf8Url } from './http/middleware';
import { mountUpload } from './http/files';
import { mountOperation, mountPlain } from './http/mount';
import { errorHandler } from './http/problems';
import { buildOpenApi } from './openapi';
import { PeopleOfOrgs, serviceOperation } from './routes';

export interface AppOptions {
  broker: ServiceBroker;
  store: GatewayStore;
  /** The service route table (routes.ts `serviceRoutes` in production; test routes in tests). */
  routes: readonly Route[];
  config: Pick<
    GatewayConfig,
    'LOG_LEVEL' | 'RELAIS_PLATFORM_TOKEN' | 'TOKEN_CACHE_TTL_MS' | 'ATTACHMENT_MAX_BYTES' | 'GATEWAY_REQUEST_TIMEOUT_MS' | 'REQUEST_TIMEOUT_MS' | 'PORTAL_URL'
  >;
  /** Services whose health /readyz requires; all of them by default. */
  healthServices?: readonly string[];
  /**
   * Signed provider callbacks (e.g. Twilio delivery status), mounted at /v1/callbacks before
   * the JSON-only rule and bearer authentication: each handler verifies its provider's
   * signature itself, and providers post form bodies.
   */
  callbacks?: Router;
  logger?: PinoLogger;
}

export const API_INFO = {
  title: 'Relais API',
  version: '0.1.0',
  description:
    'Authenticate with `Authorization: Bearer <token>`. Errors are application/problem+json (RFC 9457). ' +
    'Request bodies are JSON objects (uploads: multipart/form-data); unknown fields are rejected.',
};

export function createApp(options: AppOptions): Express {
  const { broker, store, routes, config } = options;
  const logger = options.logger ?? createLogger('gateway', config.LOG_LEVEL);
  const verifier = new TokenVerifier(store, {
    ttlMs: config.TOKEN_CACHE_TTL_MS,
    // lastUsedAt is therefore as precise as the cache TTL, and costs no write per request.
    onVerified: (p) =>
      void store.tokenUsage
        .touch(p.auth.orgId, p.tokenId, new Date())
        .catch((err: Error) => logger.warn({ error: { message: err.message } }, 'lastUsedAt not saved')),
  });
  const guards = {
    bearer: bearerAuth(verifier, logger),
    portal: portalAuth(store.portal, store.orgs, logger),
    platform: platformAuth(config.RELAIS_PLATFORM_TOKEN),
    none: noAuth,
  };
  const people = new PeopleOfOrgs(broker);
  const operations = [
    ...accountOperations({ store, verifier }),
    ...portalOperations({ accesses: store.portal, broker, portalUrl: config.PORTAL_URL }),
    ...routes.map((r) => serviceOperation(r, broker, people)),
  ];
  const openapi = JSON.stringify(buildOpenApi([...healthDocs, ...docsDocs, ...operations], API_INFO));

  const app = express();
  app.disable('x-powered-by');
  // Query values stay strings (or arrays of strings): `?a[$gt]=` can never become an object.
  app.set('query parser', 'simple');
  // Without upgrade-insecure-requests: a gateway served over plain HTTP (a LAN, compose on a server) would
  // have the docs page's own script and /openapi.json fetched over https, which it does not serve. TLS is
  // the deployment's to terminate; HSTS still tells browsers to keep https once they reach it that way.
  const security = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  app.use(requestId, requestLog(logger), security, utf8Url);

  const registry = new RouteRegistry();
  // Unauthenticated: health, the API description.
  mountPlain(app, registry, 'get', '/healthz', healthz);
  mountPlain(app, registry, 'get', '/readyz', readyz({ broker, store, services: options.healthServices ?? SERVICES }));
  mountPlain(app, registry, 'get', '/openapi.json', (_req, res) => void res.type('json').send(openapi));
  mountPlain(app, registry, 'get', '/docs', docsPage);
  mountPlain(app, registry, 'get', '/docs/docs.js', docsScript);
  if (options.callbacks) app.use('/v1/callbacks', noStore, options.callbacks);

  // Uploads (multipart/form-data, streamed) before the JSON rule, which would refuse their bodies.
  const uploads = { maxBytes: config.ATTACHMENT_MAX_BYTES, timeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS + config.REQUEST_TIMEOUT_MS };
  for (const op of operations.filter((o) => o.multipart)) mountUpload(app, registry, op, guards, uploads);

  // The JSON API: every route below authenticates through its operation's guard.
  app.use(noStore, jsonOnly, express.json({ limit: '256kb', verify: utf8Body }));
  for (const op of operations.filter((o) => !o.multipart)) mountOperation(app, registry, op, guards, store.keys);

  app.use(registry.fallback());
  app.use(errorHandler(logger));
  return app;
}
