import { randomUUID } from 'node:crypto';
import { MongoClient, type Document } from 'mongodb';

// Relais keys its documents by UUID strings, not ObjectIds.
type StringIdDoc = Document & { _id: string };
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, connect, nanos, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';

/**
 * The raw floor of the ingest flow: the same durable writes Relais makes, with the mongodb driver
 * and nats.js and nothing else (no HTTP, auth, framework, validation or domiciliation check).
 * Producer: store the mail document, publish its event with Nats-Msg-Id and await the ack.
 * Consumer (same process): insert the read-model row, then the processed-id mark, then ack.
 *
 * - `one`: one item at a time on both sides.
 * - `batched`: insertMany of 100 and concurrent publishes; the consumer applies what it has
 *   buffered (up to 100) with one insertMany of rows and one of marks.
 *
 * Collections, indexes and document shapes are Relais's own, so the ratio measures what Relais
 * adds, not a different data model.
 */
export type FloorMode = 'one' | 'batched';

const BATCH = 100;
const KINDS = ['letter', 'parcel', 'deliveryNotice'] as const;
const DURABLE = 'floor__mail_registered';
// A stalled database fails the operation instead of hanging (the runner's overall timeout is the backstop).
const SOCKET_TIMEOUT_MS = 30_000;

export interface Floor {
  /** Writes and consumes `n` items; resolves with the milliseconds from the first write to the last ack. */
  run(n: number): Promise<number>;
  close(): Promise<void>;
}

interface Envelope {
  id: string;
  type: 'mail.registered';
  orgId: string;
  occurredAt: string;
  data: { mailItemId: string; personId: string; kind: string; quantity: number; registeredAt: string; registeredBy: string };
}

/** A mail item as services/mail stores it (domain/mail.ts newMailItem), with the id of its event. */
function mailItem(i: number, orgId: string, personId: string, userId: string) {
  const now = new Date();
  const at = now.toISOString();
  const itemId = randomUUID();
  const envelope: Envelope = {
    id: randomUUID(),
    type: 'mail.registered',
    orgId,
    occurredAt: at,
    data: { mailItemId: itemId, personId, kind: KINDS[i % KINDS.length], quantity: 1, registeredAt: at, registeredBy: userId },
  };
  const doc = {
    _id: itemId,
    orgId,
    personId,
    kind: envelope.data.kind,
    quantity: 1,
    sender: 'CAF',
    status: 'pending',
    registeredAt: now,
    registeredBy: userId,
    idempotencyKey: itemId,
    eventIds: [envelope.id],
    createdAt: now,
  };
  return { doc, envelope };
}

export async function openFloor(mode: FloorMode, opts: { mongoUrl: string; natsUrl: string; namespace: string }): Promise<Floor> {
  const ns = opts.namespace;
  const stream = `${ns.toUpperCase()}_EVENTS`;
  const subject = `${ns}.events.mail.registered`;
  const mongo = new MongoClient(opts.mongoUrl, { maxPoolSize: 10, serverSelectionTimeoutMS: 5_000, socketTimeoutMS: SOCKET_TIMEOUT_MS });
  let nc: NatsConnection | undefined;
  let messages: ConsumerMessages | undefined;
  try {
    await mongo.connect();
    const items = mongo.db(`${ns}_mail`).collection<StringIdDoc>('mail_items');
    const rows = mongo.db(`${ns}_notifications`).collection<StringIdDoc>('pending_mail');
    const marks = mongo.db(`${ns}_notifications`).collection<StringIdDoc>('processed_events');
    // The indexes of services/mail and services/notifications: each insert maintains them there too.
    await items.createIndexes([
      { key: { orgId: 1, personId: 1, registeredAt: -1 } },
      { key: { orgId: 1, registeredAt: 1 } },
      { key: { orgId: 1, idempotencyKey: 1 }, unique: true },
    ]);
    await rows.createIndexes([{ key: { orgId: 1, personId: 1, handedOverAt: 1 } }, { key: { orgId: 1, registeredAt: 1 } }]);
    await marks.createIndexes([{ key: { at: 1 } }]);

    nc = await connect({ servers: opts.natsUrl.split(','), name: `bench-floor-${mode}`, timeout: 5_000 });
    const jsm = await nc.jetstreamManager({ timeout: 10_000 });
    const js = nc.jetstream({ timeout: 10_000 });
    // The settings of Relais's events stream and consumers (shared/src/events/durable.ts).
    await jsm.streams.add({
      name: stream,
      subjects: [`${ns}.events.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(14 * 24 * 3600 * 1000),
      duplicate_window: nanos(2 * 60 * 1000),
    });
    await jsm.consumers.add(stream, {
      durable_name: DURABLE,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(30_000),
      max_deliver: 8,
      max_ack_pending: BATCH * 10,
    });
    const consumer = await js.consumers.get(stream, DURABLE);

    const orgId = randomUUID();
    const userId = randomUUID();
    const people = Array.from({ length: 20 }, () => randomUUID());
    let made = 0;
    let consumed = 0;
    let failure: Error | null = null;
    // Resolved when `consumed` reaches the target of the current run, or on the first failure.
    let waiter: { target: number; resolve: () => void; reject: (e: Error) => void } | null = null;
    const settle = () => {
      if (!waiter) return;
      if (failure) waiter.reject(failure);
      else if (consumed >= waiter.target) waiter.resolve();
      else return;
      waiter = null;
    };
    const fail = (err: unknown) => {
      failure ??= err as Error;
      settle();
    };

    const record = async (batch: JsMsg[]) => {
      const now = new Date();
      const envs = batch.map((m) => JSON.parse(Buffer.from(m.data).toString('utf8')) as Envelope);
      const rowDocs = envs.map((e) => ({
        _id: e.data.mailItemId,
        orgId: e.orgId,
        personId: e.data.personId,
        kind: e.data.kind,
        quantity: e.data.quantity,
        registeredAt: new Date(e.data.registeredAt),
        handedOverAt: null,
      }));
      const markDocs = envs.map((e) => ({ _id: `${DURABLE}:${e.id}`, at: now }));
      if (batch.length === 1) {
        await rows.insertOne(rowDocs[0]);
        await marks.insertOne(markDocs[0]);
      } else {
        await rows.insertMany(rowDocs, { ordered: false });
        await marks.insertMany(markDocs, { ordered: false });
      }
      for (const m of batch) m.ack();
      consumed += batch.length;
      settle();
    };

    if (mode === 'one') {
      messages = await consumer.consume({ max_messages: 1 });
      const it = messages;
      void (async () => {
        for await (const m of it) await record([m]);
      })().catch(fail);
    } else {
      const buffer: JsMsg[] = [];
      let busy = false;
      const drain = async () => {
        if (busy) return;
        busy = true;
        try {
          while (buffer.length > 0) await record(buffer.splice(0, BATCH));
        } catch (err) {
          fail(err);
        } finally {
          busy = false;
        }
      };
      messages = await consumer.consume({
        max_messages: BATCH,
        callback: (m) => {
          buffer.push(m);
          void drain();
        },
      });
    }

    const produce = async (n: number) => {
      const publish = (e: Envelope) => js.publish(subject, Buffer.from(JSON.stringify(e)), { msgID: e.id, expect: { streamName: stream } });
      if (mode === 'one') {
        for (let i = 0; i < n; i++, made++) {
          const { doc, envelope } = mailItem(made, orgId, people[made % people.length], userId);
          await items.insertOne(doc);
          await publish(envelope);
        }
        return;
      }
      for (let done = 0; done < n; done += BATCH) {
        const batch = [];
        for (let i = 0; i < Math.min(BATCH, n - done); i++, made++) batch.push(mailItem(made, orgId, people[made % people.length], userId));
        await items.insertMany(
          batch.map((b) => b.doc),
          { ordered: false },
        );
        await Promise.all(batch.map((b) => publish(b.envelope)));
      }
    };

    return {
      async run(n) {
        if (failure) throw failure;
        const all = new Promise<void>((resolve, reject) => (waiter = { target: consumed + n, resolve, reject }));
        all.catch(() => {});
        const t0 = performance.now();
        await produce(n);
        await all;
        return performance.now() - t0;
      },
      async close() {
        await messages?.close().catch(() => {});
        await nc?.drain().catch(() => nc?.close());
        await mongo.close(true).catch(() => {});
      },
    };
  } catch (err) {
    await messages?.close().catch(() => {});
    await nc?.close().catch(() => {});
    await mongo.close(true).catch(() => {});
    throw err;
  }
}
