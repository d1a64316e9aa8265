import { z } from 'zod';
import { ConfigError, baseConfigSchema, loadConfig } from '@relais/shared';

// An empty variable means "not set", so `RELAIS_PLATFORM_TOKEN=` in a .env file disables org creation.
const optionalSecret = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z.string().min(24, 'must be at least 24 characters (generate one with `openssl rand -base64 32`)').optional(),
);

export const gatewayConfigSchema = baseConfigSchema.extend({
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** How long a client may take to send a request's headers before its connection is closed. */
  GATEWAY_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
  /** How long a client may take to send a whole request (headers and body). */
  GATEWAY_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /** How long an idle keep-alive connection stays open between requests. */
  GATEWAY_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** Most connections open at once; further ones are closed at once. */
  GATEWAY_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(2_000),
  /** Bearer token of the platform operator, the only caller of POST /v1/orgs. Unset: org creation is disabled. */
  RELAIS_PLATFORM_TOKEN: optionalSecret,
  /**
   * How long a verified API token is trusted without reading the database again. A revoked token, a
   * disabled user or a changed role takes effect on other gateway instances within this delay.
   */
  TOKEN_CACHE_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
  /** Twilio's auth token: with it, signed status callbacks are accepted at /v1/callbacks/twilio/status. */
  TWILIO_AUTH_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be the Twilio account auth token').optional()),
  /** This gateway's URL as Twilio reaches it (the URL Twilio signs). Required with TWILIO_AUTH_TOKEN. */
  PUBLIC_BASE_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()),
  /** The client portal's page: portal links e-mailed to clients' contacts are `<PORTAL_URL>/#token=<portal token>`. */
  PORTAL_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).default('http://localhost:3000/portal'),
  ),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

const timeoutsInOrder = (c: GatewayConfig) => c.GATEWAY_HEADERS_TIMEOUT_MS <= c.GATEWAY_REQUEST_TIMEOUT_MS;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, env);
  if (!timeoutsInOrder(config)) {
    throw new ConfigError('Invalid configuration:\n  GATEWAY_HEADERS_TIMEOUT_MS must not exceed GATEWAY_REQUEST_TIMEOUT_MS');
  }
  return config;
}
