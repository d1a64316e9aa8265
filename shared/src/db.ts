import mongoose, { type Connection, type Model, type Schema } from 'mongoose';
import type { BaseConfig } from './config';

/** The database of one service: `<namespace>_<service>`; no service reads another's. */
export function databaseName(config: Pick<BaseConfig, 'RELAIS_NAMESPACE'>, service: string): string {
  return `${config.RELAIS_NAMESPACE}_${service}`;
}

/** A connection's model of that name, registered with `schema` the first time: repositories open once per connection, tests many times. */
export function modelOf<T>(db: Connection, name: string, schema: Schema<T> | Schema): Model<T> {
  // An untyped schema (one collection of several shapes, which mongoose cannot type) is taken as T's.
  return (db.models[name] as Model<T> | undefined) ?? db.model<T>(name, schema as Schema<T>);
}

/** One mongoose connection per service, opened in started(), closed in stopped(). */
export async function connectDatabase(config: Pick<BaseConfig, 'MONGO_URL' | 'RELAIS_NAMESPACE' | 'DB_TIMEOUT_MS'>, service: string): Promise<Connection> {
  const conn = mongoose.createConnection(config.MONGO_URL, {
    dbName: databaseName(config, service),
    serverSelectionTimeoutMS: 5_000,
    socketTimeoutMS: config.DB_TIMEOUT_MS,
    maxPoolSize: 10,
    // Fail fast instead of queueing operations while disconnected.
    bufferCommands: false,
    autoIndex: false,
    autoCreate: false,
  });
  await conn.asPromise();
  return conn;
}

/** Splits a list into chunks (FerretDB: cap the size of one update command). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * True for a duplicate-key error, alone or inside a bulk write error. MongoDB reports E11000;
 * FerretDB reports a unique violation raised by an update or upsert as an internal error
 * carrying PostgreSQL's SQLSTATE 23505.
 */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: number; errmsg?: string; message?: string; writeErrors?: unknown[] };
  if (e?.code === 11000) return true;
  if (/SQLSTATE 23505/.test(e?.errmsg ?? e?.message ?? '')) return true;
  return Array.isArray(e?.writeErrors) && e.writeErrors.length > 0 && e.writeErrors.every((w) => isDuplicateKey(w));
}

/**
 * The documents as the schema stores them (types cast, defaults applied), for an insert without
 * hydration: a hydrated mongoose document costs ~200 µs of CPU (measured on 2,000 delivery rows:
 * 550 ms against 45 ms), as much as the insert itself on FerretDB. The schema's validators do not
 * run: what is inserted is built by Relais's own domain functions, whose types require every field
 * (requests are validated at the boundary). A value that cannot be cast is still refused.
 */
function prepared<T>(model: mongoose.Model<T>, docs: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return docs.map((d) => {
    const full = model.applyDefaults({ ...d }) as Record<string, unknown>;
    const cast = model.castObject(full) as Record<string, unknown>;
    // castObject leaves null values out; the document stores them (queries and reads tell null from absent).
    for (const [key, value] of Object.entries(full)) if (value === null) cast[key] = null;
    return cast;
  });
}

/**
 * A write the database did not prove: it answered with an error it did not explain per document
 * (FerretDB reports some refused inserts as a bulk error with an empty `writeErrors`), or with
 * counts that do not add up. Every document of that command counts as not written.
 */
export class UnprovenWriteError extends Error {
  constructor(what: string, cause?: unknown) {
    super(`${what}${cause instanceof Error ? `: ${cause.message}` : ''}`);
    this.name = 'UnprovenWriteError';
  }
}

/**
 * insertMany(ordered: false) that tells, per document, whether it was inserted (true) or
 * already there (false, duplicate key). Inserting a document with a unique key is the one claim
 * FerretDB makes atomically under concurrency. A document is reported inserted only when the
 * database's counts prove it: any other error, an error without per-document outcomes, or an
 * inserted count that does not match throws, and the caller must treat the whole command as failed.
 */
export async function insertEach<T>(model: mongoose.Model<T>, docs: readonly Record<string, unknown>[]): Promise<boolean[]> {
  const inserted = docs.map(() => true);
  if (docs.length === 0) return inserted;
  const what = `insert of ${docs.length} document(s) into ${model.collection.collectionName}`;
  let res: { insertedCount?: number };
  try {
    res = await model.insertMany(prepared(model, docs), { ordered: false, lean: true, rawResult: true });
  } catch (err) {
    const e = err as { writeErrors?: { index: number }[]; result?: { insertedCount?: number } };
    const writeErrors = e.writeErrors;
    if (!Array.isArray(writeErrors) || writeErrors.length === 0) {
      if (docs.length === 1 && isDuplicateKey(err)) return [false];
      if (!Array.isArray(writeErrors)) throw err;
      throw new UnprovenWriteError(`${what} failed without saying which documents`, err);
    }
    for (const w of writeErrors) {
      if (!isDuplicateKey(w)) throw err;
      inserted[w.index] = false;
    }
    const expected = inserted.filter(Boolean).length;
    if (e.result?.insertedCount !== expected) {
      throw new UnprovenWriteError(`${what}: ${e.result?.insertedCount ?? 'no'} inserted reported, ${expected} expected`, err);
    }
    return inserted;
  }
  if (res.insertedCount !== docs.length) {
    throw new UnprovenWriteError(`${what}: ${res.insertedCount ?? 'no'} inserted reported`);
  }
  return inserted;
}

/**
 * insertMany(ordered: false) that treats duplicate keys as "already there" and returns how many
 * documents it inserted: the basis of every idempotent write in Relais. Other errors are thrown.
 */
export async function insertManyIgnoringDuplicates<T>(model: mongoose.Model<T>, docs: readonly Record<string, unknown>[]): Promise<number> {
  return (await insertEach(model, docs)).filter(Boolean).length;
}

/**
 * Writes each view of a read model unless a newer one is stored (by `changedAt`), in bulk writes of
 * `batch`; returns the views written. A duplicate key on upsert means "a newer one won": the filter
 * missed the stored document, so the upsert tried to insert it again. FerretDB stops an unordered
 * bulk write at its first error (measured: the upserts after a duplicate key are not done, and the
 * error lists only the first), so a batch that meets one is written again view by view.
 */
export async function upsertNewer<T extends { _id: string; changedAt: Date }>(batch: number, model: mongoose.Model<T>, views: readonly T[]): Promise<T[]> {
  const op = (v: T) => ({
    updateOne: { filter: { _id: v._id, changedAt: { $lte: v.changedAt } } as never, update: { $set: v } as never, upsert: true },
  });
  // Within a batch, keep the latest view per document.
  const latest = new Map<string, T>();
  for (const v of views) if (!latest.has(v._id) || latest.get(v._id)!.changedAt < v.changedAt) latest.set(v._id, v);
  const applied: T[] = [];
  for (const part of chunks([...latest.values()], batch)) {
    const whole = await model.bulkWrite(part.map(op), { ordered: false }).then(
      () => true,
      (err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
        return false;
      },
    );
    if (whole) {
      applied.push(...part);
      continue;
    }
    for (const v of part) {
      const written = await model.bulkWrite([op(v)]).then(
        () => true,
        (err: unknown) => {
          if (!isDuplicateKey(err)) throw err;
          return false;
        },
      );
      if (written) applied.push(v);
    }
  }
  return applied;
}
