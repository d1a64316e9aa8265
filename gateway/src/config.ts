import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@relais/shared';

// An empty variable means "not set", so `RELAIS_PLATFORM_TOKEN=` in a .env file disables org creation.
const optionalSecret = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z.string().min(24, 'must be at least 24 characters (generate one with `openssl rand -base64 32`)').optional(),
);

export const gatewayConfigSchema = baseConfigSchema.extend({
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
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
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig =>
  loadConfig(gatewayConfigSchema, env);
