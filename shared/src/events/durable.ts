import mongoose, { type Connection, type Model } from 'mongoose';
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  headers,
  nanos,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import type { Envelope, EventType } from './contracts';
import { decodeEnvelope } from './envelope';
import { insertManyIgnoringDuplicates, modelOf } from '../db';
import { withTimeout } from '../timeout';

/**
 * Durable events on NATS JetStream (ARCHITECTURE §3).
 *
 * - One stream `<NS>_EVENTS` holds every event; subject `<ns>.events.<type>`.
 * - One durable pull consumer per (consuming service, event type): the service's
 *   instances share it, so each service sees every event once. NATS 2.9 allows one
 *   filter subject per consumer, hence one consumer per type.
 * - Consumers are idempotent: ids of processed events are kept with a unique key
 *   in the consuming service's database, and handlers write idempotently too
 *   (the mark is written after the effect; there are no transactions).
 * - A failing event is redelivered with backoff, and after `maxDeliveries` moved
 *   to the dead-letter stream `<NS>_DLQ` (`<ns>.dlq.<group>.<type>`), which ops list and replay.
 */

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DurableEventsOptions {
  natsUrl: string;
  namespace: string;
  /** Connection name shown by the NATS server (the service name). */
  name: string;
  logger?: Logger;
}

export interface ConsumeOptions<T extends EventType> {
  /** The consuming service: all its instances share one consumer per event type. */
  group: string;
  type: T;
  /** The consuming service's database, where processed event ids are kept. */
  db: Connection;
  /** Applies a batch of new (never processed) events. Must be idempotent. */
  handle: (events: Envelope<T>[]) => Promise<void>;
  batchSize?: number;
  /** Deliveries before an event goes to the dead-letter stream. */
  maxDeliveries?: number;
  /** Delay before the n-th redelivery (last value repeats). */
  backoffMs?: number[];
  /** Time a batch may take before JetStream redelivers it elsewhere. */
  ackWaitMs?: number;
  dbTimeoutMs?: number;
}

export interface DeadLetter {
  seq: number;
  group: string;
  subject: string;
  error: string;
  deliveries: number;
  failedAt: string;
  envelope: Envelope | null;
}

export interface Subscription {
  stop(): Promise<void>;
}

const DEFAULT_BACKOFF = [1_000, 5_000, 15_000, 60_000];
const STREAM_IN_USE = 10058;
const CONSUMER_EXISTS = 10148;

interface ProcessedEvent {
  _id: string;
  at: Date;
}
const processedSchema = new mongoose.Schema<ProcessedEvent>(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { versionKey: false, collection: 'processed_events' },
);
// Serves the periodic removal of old marks ({ at < cut-off }). Not a TTL index: FerretDB has none.
processedSchema.index({ at: 1 });

/** Marks older than the stream's retention can never be needed again. */
const PROCESSED_RETENTION_MS = 30 * 24 * 3600 * 1000;

function processedModel(db: Connection): Model<ProcessedEvent> {
  return modelOf<ProcessedEvent>(db, 'ProcessedEvent', processedSchema);
}

export class DurableEvents {
  readonly eventsStream: string;
  readonly deadLetterStream: string;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly ns: string,
    private readonly log?: Logger,
  ) {
    this.eventsStream = `${ns.toUpperCase()}_EVENTS`;
    this.deadLetterStream = `${ns.toUpperCase()}_DLQ`;
  }

  static async connect(opts: DurableEventsOptions): Promise<DurableEvents> {
    const nc = await connect({
      servers: opts.natsUrl.split(','),
      name: opts.name,
      maxReconnectAttempts: -1,
      timeout: 5_000,
    });
    const jsm = await nc.jetstreamManager({ timeout: 10_000 });
    const events = new DurableEvents(nc, jsm, nc.jetstream({ timeout: 10_000 }), opts.namespace, opts.logger);
    await events.ensureStreams();
    return events;
  }

  subject(type: EventType): string {
    return `${this.ns}.events.${type}`;
  }

  private deadLetterSubject(group: string, type: string): string {
    return `${this.ns}.dlq.${group}.${type}`;
  }

  /** Creates or updates both streams; safe when several instances start at once. */
  async ensureStreams(): Promise<void> {
    await this.ensureStream({
      name: this.eventsStream,
      subjects: [`${this.ns}.events.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(14 * 24 * 3600 * 1000),
      duplicate_window: nanos(2 * 60 * 1000),
    });
    await this.ensureStream({
      name: this.deadLetterStream,
      subjects: [`${this.ns}.dlq.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(90 * 24 * 3600 * 1000),
    });
  }

  private async ensureStream(cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
    try {
      await this.jsm.streams.add(cfg);
    } catch (err) {
      // Exists with another configuration: bring it to ours.
      if (apiCode(err) !== STREAM_IN_USE) throw err;
      await this.jsm.streams.update(cfg.name, cfg);
    }
  }

  /** Publishes envelopes; resolves once JetStream stored each (duplicates by id are dropped by the server). */
  async publish(envelopes: readonly Envelope[]): Promise<void> {
    await Promise.all(
      envelopes.map((env) =>
        this.js.publish(this.subject(env.type), Buffer.from(JSON.stringify(env)), {
          msgID: env.id,
          expect: { streamName: this.eventsStream },
        }),
      ),
    );
  }

  async consume<T extends EventType>(opts: ConsumeOptions<T>): Promise<Subscription> {
    const worker = new ConsumerWorker(this, opts, this.log);
    await worker.start(this.jsm, this.js);
    return worker;
  }

  /** @internal used by workers */
  async deadLetter(group: string, msg: JsMsg, error: string): Promise<void> {
    const h = headers();
    h.set('Relais-Group', group);
    h.set('Relais-Subject', msg.subject);
    h.set('Relais-Error', error.slice(0, 500));
    h.set('Relais-Deliveries', String(msg.info.redeliveryCount));
    h.set('Relais-Failed-At', new Date().toISOString());
    const type = msg.subject.slice(`${this.ns}.events.`.length);
    await this.js.publish(this.deadLetterSubject(group, type), msg.data, {
      headers: h,
      msgID: `${group}:${msg.info.streamSequence}`,
    });
  }

  /** Lists dead letters, oldest first. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const info = await this.jsm.streams.info(this.deadLetterStream);
    const out: DeadLetter[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
      const stored = await this.jsm.streams.getMessage(this.deadLetterStream, { seq }).catch(() => null);
      if (!stored) continue; // deleted after a replay
      let envelope: Envelope | null;
      try {
        envelope = decodeEnvelope(stored.data);
      } catch {
        envelope = null;
      }
      out.push({
        seq,
        group: stored.header.get('Relais-Group'),
        subject: stored.header.get('Relais-Subject'),
        error: stored.header.get('Relais-Error'),
        deliveries: Number(stored.header.get('Relais-Deliveries')),
        failedAt: stored.header.get('Relais-Failed-At'),
        envelope,
      });
    }
    return out;
  }

  /**
   * Puts a dead letter back on its subject, then removes it from the dead-letter stream.
   * Other consumer groups already processed it and skip it by its id.
   */
  async replay(seq: number): Promise<void> {
    const stored = await this.jsm.streams.getMessage(this.deadLetterStream, { seq });
    const envelope = decodeEnvelope(stored.data);
    await this.js.publish(this.subject(envelope.type), stored.data, { msgID: `${envelope.id}:replay:${seq}` });
    await this.jsm.streams.deleteMessage(this.deadLetterStream, seq);
  }

  /** The events stream's last sequence: every event stored so far has a sequence at or below it. */
  async lastSequence(): Promise<number> {
    return (await this.jsm.streams.info(this.eventsStream)).state.last_seq;
  }

  /**
   * Whether `group`'s consumer of each of `types` has handled every event stored up to `seq`
   * (handled: applied and acknowledged, or dead-lettered): nothing left to deliver nor waiting for
   * its ack, or an ack floor at or past `seq` (later events may still be arriving).
   */
  async backlogCleared(group: string, types: readonly EventType[], seq: number): Promise<boolean> {
    for (const type of types) {
      const info = await this.jsm.consumers.info(this.eventsStream, durableName(group, type));
      const idle = info.num_pending === 0 && info.num_ack_pending === 0;
      if (!idle && info.ack_floor.stream_seq < seq) return false;
    }
    return true;
  }

  /** The service's NATS connection, for other JetStream uses (key-value buckets). */
  get connection(): NatsConnection {
    return this.nc;
  }

  /** Round trip to the NATS server. */
  async ping(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** The durable consumer shared by a service's instances for one event type. */
const durableName = (group: string, type: EventType) => `${group}__${type.replace(/\./g, '_')}`;

function apiCode(err: unknown): number | undefined {
  return (err as { api_error?: { err_code?: number } })?.api_error?.err_code;
}

class ConsumerWorker<T extends EventType> implements Subscription {
  private readonly durable: string;
  private readonly batchSize: number;
  private readonly maxDeliveries: number;
  private readonly backoff: number[];
  private readonly dbTimeout: number;
  private readonly processed: Model<ProcessedEvent>;
  private buffer: JsMsg[] = [];
  private running: Promise<void> | null = null;
  private messages: ConsumerMessages | null = null;
  private stopped = false;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly events: DurableEvents,
    private readonly opts: ConsumeOptions<T>,
    private readonly log?: Logger,
  ) {
    this.durable = durableName(opts.group, opts.type);
    this.batchSize = opts.batchSize ?? 100;
    this.maxDeliveries = opts.maxDeliveries ?? 5;
    this.backoff = opts.backoffMs ?? DEFAULT_BACKOFF;
    this.dbTimeout = opts.dbTimeoutMs ?? 15_000;
    this.processed = processedModel(opts.db);
  }

  async start(jsm: JetStreamManager, js: JetStreamClient): Promise<void> {
    await this.processed.createIndexes();
    const cfg: Partial<ConsumerConfig> = {
      durable_name: this.durable,
      filter_subject: this.events.subject(this.opts.type),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.opts.ackWaitMs ?? 30_000),
      // A backstop: our own cap moves the event to the dead-letter stream first.
      max_deliver: this.maxDeliveries + 3,
      max_ack_pending: this.batchSize * 10,
    };
    try {
      await jsm.consumers.add(this.events.eventsStream, cfg);
    } catch (err) {
      if (apiCode(err) !== CONSUMER_EXISTS) throw err;
      await jsm.consumers.update(this.events.eventsStream, this.durable, cfg);
    }
    this.pruneTimer = setInterval(() => void this.prune(), 3600_000);
    this.pruneTimer.unref();
    const consumer = await js.consumers.get(this.events.eventsStream, this.durable);
    this.messages = await consumer.consume({
      max_messages: this.batchSize * 2,
      callback: (msg) => {
        this.buffer.push(msg);
        this.kick();
      },
    });
  }

  /** Processes what is buffered, one batch at a time; messages arriving meanwhile form the next batch. */
  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      while (this.buffer.length > 0 && !this.stopped) {
        const batch = this.buffer.splice(0, this.batchSize);
        await this.processBatch(batch);
      }
    })()
      .catch((err: unknown) => this.log?.error({ err, durable: this.durable }, 'event batch failed'))
      .finally(() => {
        this.running = null;
        if (this.buffer.length > 0 && !this.stopped) this.kick();
      });
  }

  private async processBatch(batch: JsMsg[]): Promise<void> {
    const valid: { msg: JsMsg; env: Envelope<T> }[] = [];
    for (const msg of batch) {
      try {
        valid.push({ msg, env: decodeEnvelope(msg.data) as Envelope<T> });
      } catch (err) {
        // A malformed event will never succeed: straight to the dead-letter stream.
        await this.moveToDeadLetter(msg, `malformed event: ${(err as Error).message}`);
      }
    }
    if (valid.length === 0) return;
    try {
      await this.apply(
        valid.map((v) => v.env),
        valid.some((v) => v.msg.redelivered),
      );
      for (const { msg } of valid) msg.ack();
    } catch (err) {
      if (valid.length > 1) {
        // Isolate the failing event(s) so the others go through.
        for (const one of valid) await this.processBatch([one.msg]);
        return;
      }
      await this.fail(valid[0].msg, err as Error);
    }
  }

  /**
   * Skips ids already processed, applies the rest, then records them as processed. The lookup
   * is made only for redeliveries: first deliveries are new unless republished, and handlers
   * are idempotent for that case (an `_id: { $in }` lookup is evaluated by FerretDB document by document).
   */
  private async apply(envs: Envelope<T>[], redelivered: boolean): Promise<void> {
    const unique = [...new Map(envs.map((e) => [e.id, e])).values()];
    const keys = unique.map((e) => `${this.durable}:${e.id}`);
    const seen = redelivered
      ? await withTimeout(
          this.processed
            .find({ _id: { $in: keys } }, { _id: 1 })
            .lean()
            .exec(),
          this.dbTimeout,
          'processed-events lookup',
        )
      : [];
    const seenKeys = new Set(seen.map((d) => d._id));
    const fresh = unique.filter((_, i) => !seenKeys.has(keys[i]));
    if (fresh.length === 0) return;
    await withTimeout(this.opts.handle(fresh), this.dbTimeout * 2, `handler of ${this.opts.type}`);
    const now = new Date();
    await withTimeout(
      insertManyIgnoringDuplicates(
        this.processed,
        fresh.map((e) => ({ _id: `${this.durable}:${e.id}`, at: now })),
      ),
      this.dbTimeout,
      'processed-events mark',
    );
  }

  private async fail(msg: JsMsg, err: Error): Promise<void> {
    const deliveries = msg.info.redeliveryCount;
    if (deliveries >= this.maxDeliveries) {
      await this.moveToDeadLetter(msg, err.message);
      return;
    }
    const delay = this.backoff[Math.min(deliveries - 1, this.backoff.length - 1)];
    this.log?.warn({ durable: this.durable, deliveries, delay, error: err.message }, 'event failed, will retry');
    msg.nak(delay);
  }

  private async moveToDeadLetter(msg: JsMsg, error: string): Promise<void> {
    try {
      await this.events.deadLetter(this.opts.group, msg, error);
      msg.term();
      this.log?.error({ durable: this.durable, seq: msg.info.streamSequence, error }, 'event moved to dead letters');
    } catch (err) {
      // Could not park it: let JetStream redeliver it later rather than lose it.
      msg.nak(this.backoff[this.backoff.length - 1]);
      this.log?.error({ durable: this.durable, error: (err as Error).message }, 'dead-letter publish failed');
    }
  }

  private async prune(): Promise<void> {
    const cutOff = new Date(Date.now() - PROCESSED_RETENTION_MS);
    await withTimeout(this.processed.deleteMany({ at: { $lt: cutOff } }).exec(), this.dbTimeout, 'processed-events prune').catch((err) =>
      this.log?.warn({ error: (err as Error).message }, 'processed-events prune failed'),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.messages?.close().catch(() => undefined);
    await this.running;
    // Hand what we buffered back at once instead of waiting for ack_wait.
    for (const msg of this.buffer.splice(0)) msg.nak();
  }
}
