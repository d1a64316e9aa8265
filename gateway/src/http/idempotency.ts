import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import mongoose, { type Connection, type Model } from 'mongoose';
import { conflict, insertEach, modelOf, validationError, withTimeout } from '@relais/shared';

/**
 * Idempotency-Key, the one mechanism for every POST of the API, with the semantics clients know from
 * payment APIs: the same key and the same request replay the first answer (`Idempotent-Replayed: true`);
 * the same key with another request is a 422; a key is per org and per route, and kept KEEP_MS.
 *
 * A key is claimed by a unique insert (the one claim FerretDB makes atomically), the request is run,
 * then its answer is stored in the claim. A request that failed releases its key, so that a retry runs
 * it again. A request whose outcome is unknown (it timed out: it may have been carried out) keeps its
 * key and request hash: a retry of the same request runs it again, and the services' creating writes
 * dedupe on the key (mail items store it, other created documents take an id derived from it,
 * `createdId`), so the retry meets the first write; another request with that key is still a 422.
 * Answers can hold personal data and secrets (a new API token): they are stored encrypted with a key
 * derived from the caller's own bearer secret, which the database never holds.
 */
export const KEEP_MS = 24 * 60 * 60 * 1000;
/** A claim without an answer for this long belongs to a request that died with its gateway: it is released. */
const STALE_MS = 5 * 60 * 1000;

interface KeyDoc {
  _id: string;
  /** sha256 of the request (route, path and body fields): tells a retry from another request. */
  request: string;
  /** `unknown`: the request timed out and may have been carried out. */
  state: 'running' | 'done' | 'unknown';
  status?: number;
  /** The answer's JSON, AES-256-GCM: iv.tag.ciphertext, base64. */
  answer?: string | null;
  at: Date;
}

const schema = new mongoose.Schema<KeyDoc>(
  {
    _id: { type: String, required: true },
    request: { type: String, required: true },
    state: { type: String, enum: ['running', 'done', 'unknown'], required: true },
    status: Number,
    answer: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'idempotency_keys' },
);
// Serves the purge of keys older than KEEP_MS.
schema.index({ at: 1 });

/** Canonical JSON: the same fields in any order hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sha256 = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest();

function seal(secret: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64')).join('.');
}

function unseal(secret: Buffer, sealed: string): string | null {
  try {
    const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64'));
    const decipher = createDecipheriv('aes-256-gcm', secret, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** A call that timed out may still have been carried out by its service (see the 504's wording). */
function outcomeUnknown(err: unknown): boolean {
  const e = err as { type?: unknown; code?: unknown } | null;
  return e?.type === 'REQUEST_TIMEOUT' || e?.code === 504;
}

export interface KeyedRequest {
  /** The org, or `platform` for the platform operator's routes. */
  scope: string;
  /** `METHOD /path/pattern`. */
  route: string;
  key: string;
  /** The request's fields (path parameters and body). */
  fields: unknown;
  /** The caller's bearer secret: answers are sealed with it. */
  callerSecret: string;
}

export interface Answer {
  status: number;
  body: unknown;
  replayed: boolean;
}

export class IdempotencyKeys {
  private constructor(
    private readonly model: Model<KeyDoc>,
    private readonly timeoutMs: number,
  ) {}

  static open(db: Connection, timeoutMs: number): IdempotencyKeys {
    return new IdempotencyKeys(modelOf<KeyDoc>(db, 'IdempotencyKey', schema), timeoutMs);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Runs `work` once per (scope, route, key): later calls with the same request get its answer. */
  async once(req: KeyedRequest, work: () => Promise<{ status: number; body: unknown }>): Promise<Answer> {
    const id = sha256(req.scope, req.route, req.key).toString('hex');
    const request = sha256(req.route, canonical(req.fields)).toString('hex');
    const secret = sha256('idempotency', req.callerSecret, id);
    const db = <T>(p: Promise<T>, what: string) => withTimeout(p, this.timeoutMs, what);

    for (let attempt = 0; attempt < 2; attempt++) {
      const [claimed] = await db(insertEach(this.model, [{ _id: id, request, state: 'running', at: new Date() }]), 'idempotency key claim');
      if (claimed) {
        let done: { status: number; body: unknown };
        try {
          done = await work();
        } catch (err) {
          const release: Promise<unknown> = outcomeUnknown(err)
            ? this.model.updateOne({ _id: id }, { $set: { state: 'unknown' } }).exec()
            : this.model.deleteOne({ _id: id }).exec();
          await db(release, 'idempotency key release').catch(() => {});
          throw err;
        }
        const answer = done.body === undefined ? null : seal(secret, JSON.stringify(done.body));
        await db(this.model.updateOne({ _id: id }, { $set: { state: 'done', status: done.status, answer } }).exec(), 'idempotency answer');
        return { ...done, replayed: false };
      }

      const earlier = await db(this.model.findById(id).lean<KeyDoc>().exec(), 'idempotency key lookup');
      if (!earlier) continue; // released meanwhile: claim it
      const age = Date.now() - earlier.at.getTime();
      if (age > KEEP_MS || (earlier.state === 'running' && age > STALE_MS)) {
        await db(this.model.deleteOne({ _id: id, at: earlier.at }).exec(), 'idempotency key expiry');
        continue;
      }
      if (earlier.request !== request) {
        throw validationError('This Idempotency-Key was already used for a different request; use a new key for a new request.', [
          { path: 'Idempotency-Key', message: 'was used with another request body or path' },
        ]);
      }
      if (earlier.state === 'unknown') {
        // The same request again after a timeout: run it again (its writes meet the first ones).
        await db(this.model.deleteOne({ _id: id, state: 'unknown' }).exec(), 'idempotency key retry');
        continue;
      }
      if (earlier.state === 'running') {
        throw conflict('A request with this Idempotency-Key is still being processed; retry in a moment.');
      }
      if (earlier.answer === null || earlier.answer === undefined) return { status: earlier.status ?? 204, body: undefined, replayed: true };
      const plain = unseal(secret, earlier.answer);
      if (plain === null) {
        throw validationError('This Idempotency-Key was already used with another API token; use a new key.', [
          { path: 'Idempotency-Key', message: 'was used with another API token' },
        ]);
      }
      return { status: earlier.status ?? 200, body: JSON.parse(plain), replayed: true };
    }
    throw conflict('A request with this Idempotency-Key is still being processed; retry in a moment.');
  }

  /** Deletes keys older than KEEP_MS (FerretDB has no TTL indexes). */
  async purge(now = new Date()): Promise<number> {
    const res = await withTimeout(this.model.deleteMany({ at: { $lt: new Date(now.getTime() - KEEP_MS) } }).exec(), this.timeoutMs, 'idempotency purge');
    return res.deletedCount;
  }
}
