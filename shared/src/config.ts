import { z } from 'zod';
import { logFormats } from './log';

/** Settings every Relais process reads from its environment. */
export const baseConfigSchema = z.object({
  NATS_URL: z.string().min(1, 'must name at least one NATS server, e.g. nats://127.0.0.1:4222'),
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a MongoDB connection string starting with mongodb:// or mongodb+srv://'),
  RELAIS_NAMESPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,30}$/, 'must be lower-case letters, digits or _ (at most 31), starting with a letter')
    .default('relais'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /**
   * `json` (one object a line, for collectors) or `pretty` (one readable line, for a terminal). Unset or empty:
   * decided at run time by logFormat() in log.ts, pretty only when stdout is a terminal outside production.
   */
  LOG_FORMAT: z.preprocess((v) => (v === '' ? undefined : v), z.enum(logFormats).optional()),
  NODE_ID: z.string().min(1).optional(),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  DB_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /**
   * Most documents one update command touches. FerretDB deadlocks when the update commands running at
   * once, across all clients, touch more documents than its PostgreSQL pool (~50) holds (docs/architecture.md);
   * on MongoDB raise it (e.g. 500).
   */
  DB_UPDATE_BATCH: z.coerce.number().int().min(1).max(1000).default(10),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /**
   * Largest attachment a party's file takes, in bytes. Read by contacts (which refuses a larger file) and
   * by the gateway (which stops reading an upload there). At most 100 MiB: the broker cannot slow a sender
   * down, so a receiver may have to hold a whole file's bytes before it writes them.
   */
  ATTACHMENT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(100 * 1024 * 1024)
    .default(10 * 1024 * 1024),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates the environment once at start-up. A missing or malformed
 * variable stops the process with a message naming it.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    const value = env[name];
    const problem = value === undefined || value === '' ? 'is not set' : `is invalid: ${issue.message}`;
    return `  ${name} ${problem}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}
