import { randomInt } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { connect } from 'nats';
import { withTimeout } from '@relais/shared/timeout';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SUFFIX_LENGTH = 6;
const OP_TIMEOUT_MS = 15_000;

/**
 * `<prefix>_<6 random chars>`, e.g. `t_k3x9a2`: lower-case letters, digits and `_` only, so the
 * same string works as a NATS subject token, a JetStream stream name, a Mongo database name and
 * a RELAIS_NAMESPACE. Kept short because database names are `<namespace>_<service>`.
 * Under scripts/test.ts the default prefix is the run's RELAIS_TEST_PREFIX (`t_k3x9a2_p0q8zz`),
 * so whatever a test creates is removed after the run.
 */
export function uniqueNamespace(prefix = process.env.RELAIS_TEST_PREFIX || 't'): string {
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) {
    throw new Error(`uniqueNamespace: prefix must be lower-case letters, digits or _, starting with a letter (got "${prefix}")`);
  }
  let suffix = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `${prefix}_${suffix}`;
}

function assertPrefix(prefix: string): void {
  // A short prefix would match real databases or streams ("t" matches "test").
  if (!/^[A-Za-z][A-Za-z0-9_]{2,}$/.test(prefix)) {
    throw new Error(`refusing to clean up with prefix "${prefix}": use a uniqueNamespace() value`);
  }
}

/** Drops every database whose name starts with `prefix`; returns the names dropped. */
export async function dropTestDatabases(mongoUrl: string, prefix: string): Promise<string[]> {
  assertPrefix(prefix);
  const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000 });
  const dropped: string[] = [];
  try {
    await withTimeout(client.connect(), OP_TIMEOUT_MS, 'MongoDB connect');
    const { databases } = await withTimeout(client.db('admin').admin().listDatabases({ nameOnly: true }), OP_TIMEOUT_MS, 'listDatabases');
    for (const { name } of databases) {
      if (!name.startsWith(prefix)) continue;
      await withTimeout(client.db(name).dropDatabase(), OP_TIMEOUT_MS, `dropDatabase ${name}`);
      dropped.push(name);
    }
    return dropped;
  } finally {
    // close() itself can hang on a stalled FerretDB connection.
    await withTimeout(client.close(true), 5_000, 'MongoDB close').catch(() => {});
  }
}

/**
 * Deletes every JetStream stream whose name starts with `prefix`, including the streams behind
 * KV buckets (`KV_<bucket>`) and object stores (`OBJ_<bucket>`). Case-insensitive because
 * stream names are often upper-cased from a namespace. Returns the names deleted.
 */
export async function deleteTestStreams(natsUrl: string, prefix: string): Promise<string[]> {
  assertPrefix(prefix);
  const p = prefix.toLowerCase();
  const matches = (name: string) => {
    const n = name.toLowerCase();
    return n.startsWith(p) || n.startsWith(`kv_${p}`) || n.startsWith(`obj_${p}`);
  };
  const nc = await connect({ servers: natsUrl, timeout: 5_000, reconnect: false });
  const deleted: string[] = [];
  try {
    const jsm = await withTimeout(nc.jetstreamManager({ timeout: 5_000 }), OP_TIMEOUT_MS, 'JetStream manager');
    const names: string[] = [];
    await withTimeout(
      (async () => {
        for await (const name of jsm.streams.names()) names.push(name);
      })(),
      OP_TIMEOUT_MS,
      'listing JetStream streams',
    );
    for (const name of names.filter(matches)) {
      await withTimeout(jsm.streams.delete(name), OP_TIMEOUT_MS, `deleting stream ${name}`);
      deleted.push(name);
    }
    return deleted;
  } finally {
    await withTimeout(nc.close(), 5_000, 'NATS close').catch(() => {});
  }
}

/** Removes every database and stream of a run's prefix; returns a one-line summary (never throws). */
export async function cleanUpPrefix(mongoUrl: string, natsUrl: string, prefix: string): Promise<string> {
  const t0 = Date.now();
  const [dbs, streams] = await Promise.allSettled([dropTestDatabases(mongoUrl, prefix), deleteTestStreams(natsUrl, prefix)]);
  const describe = (r: PromiseSettledResult<string[]>, what: string) =>
    r.status === 'fulfilled' ? `${r.value.length} ${what}` : `${what}: FAILED (${(r.reason as Error).message})`;
  return `cleaned up ${prefix}*: ${describe(dbs, 'databases')}, ${describe(streams, 'streams')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
}
