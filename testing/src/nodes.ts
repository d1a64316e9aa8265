import assert from 'node:assert/strict';
import type { ServiceBroker, ServiceSchema } from 'moleculer';
import { baseConfigSchema, createBroker, loadConfig, type AuthContext, type BaseConfig } from '@relais/shared';

/** Configuration of a test: the run's database and NATS, its own namespace (so its own databases and streams). */
export function testConfig(namespace: string, overrides: Record<string, string> = {}): BaseConfig {
  return loadConfig(baseConfigSchema, {
    ...process.env,
    RELAIS_NAMESPACE: namespace,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    DB_TIMEOUT_MS: '20000',
    ...overrides,
  });
}

/** Starts one broker (a separate NATS node) with the given services. */
export async function startNode(config: BaseConfig, name: string, services: ServiceSchema[] = []): Promise<ServiceBroker> {
  const broker = createBroker({ config: { ...config, NODE_ID: undefined }, name, services });
  await broker.start();
  return broker;
}

/** Call options carrying a user's auth context, as the gateway sets it. */
export const as = (auth: AuthContext, extra: Record<string, unknown> = {}) => ({ meta: { auth, ...extra } });

/**
 * A value that came as JSON (an action's answer over the transporter, an HTTP body), typed as JSON.parse
 * gives it: a test reads the fields it asserts on, and the assertion is the check.
 */
export type Parsed = ReturnType<typeof JSON.parse>;

/** Polls `check` until it returns a truthy value or the time runs out (then throws the last error). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 200, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An action's refusal as a caller over the broker receives it (the error mapping's code, message and field errors). */
export type CallProblem = { code: number; message: string; data?: { errors?: { path: string; message: string }[] } };

/** Waits for a call that must be refused with `code` (and a message matching `message`), and answers the refusal. */
export async function refusal(work: Promise<unknown>, code: number, message?: RegExp): Promise<CallProblem> {
  const err = await work.then(
    () => assert.fail(`expected a ${code}`),
    (e: unknown) => e as CallProblem,
  );
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return err;
}
