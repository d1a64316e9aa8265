import mongoose, { type Connection, type Model } from 'mongoose';
import { Outbox, chunks, eventIdsPush, insertEach, insertManyIgnoringDuplicates, modelOf, type Envelope, type OutboxOptions } from '@relais/shared';
import { DELIVERY_CHANNELS, DELIVERY_KINDS, DELIVERY_STATUSES, type DeliveryKind, type DeliveryStatus } from '../contract/vocabulary';
import { outcomeEvent, outcomeStatus, type FinalError, type OutcomeSubject } from './outcomes';
import { LotResults, type LotResult } from './results';
import {
  STATUS_RANK,
  finalChange,
  fromProviderStatus,
  isFinal,
  statusEvent,
  withChange,
  type Attempt,
  type DeliveryDoc,
  type FinalChange,
  type Outcome,
  type ProviderStatus,
  type StatusEvent,
} from './status';

const schema = new mongoose.Schema<DeliveryDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    personId: { type: String, required: true },
    type: { type: String, enum: DELIVERY_KINDS, required: true },
    ref: String,
    channel: { type: String, enum: DELIVERY_CHANNELS, required: true },
    to: { type: String, default: null },
    from: { type: String, default: null },
    subject: String,
    mail: { type: mongoose.Schema.Types.Mixed, default: undefined },
    content: { type: String, default: null },
    encoding: { type: String, default: null },
    segments: { type: Number, required: true },
    count: Number,
    status: { type: String, enum: DELIVERY_STATUSES, required: true },
    statusRank: { type: Number, required: true },
    events: { type: mongoose.Schema.Types.Mixed, default: [] },
    reason: String,
    error: { type: mongoose.Schema.Types.Mixed },
    provider: String,
    dueAt: { type: Date, required: true },
    lot: { type: String, default: null },
    attempts: { type: Number, required: true },
    retryAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    // The outbox's field (see DeliveryDoc), without its default: a slot's rows are inserted without it.
    eventIds: { type: [String], default: undefined },
  },
  { versionKey: false, collection: 'deliveries' },
);
// Serves a person's delivery history (SMS and e-mail): { orgId, personId } newest first.
schema.index({ orgId: 1, personId: 1, dueAt: -1 });
// Serves the ops list and its counts: { orgId, dueAt in range, status?, type? }.
schema.index({ orgId: 1, dueAt: -1 });
// Serves the sender loading a lot and the set-wise writes of its outcomes: { lot }.
schema.index({ lot: 1 });
// Serves the reconciler: deliveries not sent (rank < queued) long after their last change, and accepted ones
// (rank queued or sent) without a final status since a cut-off: { statusRank, updatedAt }.
schema.index({ statusRank: 1, updatedAt: 1 });

/**
 * Which delivery a provider message id belongs to: written when an accepted message's result is
 * applied (before that, the result itself says), read by callbacks and the reconciler.
 */
interface ProviderMessageDoc {
  _id: string;
  deliveryId: string;
  provider: string;
  at: Date;
}
const providerMessageSchema = new mongoose.Schema<ProviderMessageDoc>(
  {
    _id: String,
    deliveryId: { type: String, required: true },
    provider: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'provider_messages' },
);
// Serves the reconciler asking the provider about accepted deliveries: { deliveryId in [...] }.
providerMessageSchema.index({ deliveryId: 1 });

export interface DeliveryFilter {
  status?: DeliveryStatus;
  type?: DeliveryKind;
  from?: Date;
  to?: Date;
}

/** Updates a lot's outcome group is split into, run at once. */
const PARALLEL_WRITES = 4;

/** Final statuses written with their `delivery.outcome` per outbox intent (one insert and one delete each). */
const OUTCOMES_PER_INTENT = 100;

/** The fields `delivery.outcome` is built from, and the rank that tells whether the row may still move. */
const SUBJECT_FIELDS = { orgId: 1, personId: 1, type: 1, ref: 1, to: 1, channel: 1, statusRank: 1 } as const;
type Subject = OutcomeSubject & Pick<DeliveryDoc, 'statusRank'>;

/** A final status write of one delivery: its event, and the update, given the `$push` part that records the event. */
interface FinalWrite {
  id: string;
  event: Envelope<'delivery.outcome'> | null;
  /** True when it changed the row (moved it to the final status). */
  write: (push: Record<string, unknown>) => Promise<boolean>;
}

/** The ranks of deliveries still to send (pending, or a call in flight). */
const NOT_SENT = [STATUS_RANK.pending, STATUS_RANK.sending];

/** Rows settled by pending results past which the reconciler's search for strays waits (see unsent). */
const STRAYS_WAIT_FROM = 5_000;

/** Runs `work` on each item, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The deliveries that pending results settle, whatever they settle them as. */
const settledBy = (results: LotResult[]) => new Set(results.flatMap((r) => r.outcomes.map((o) => o.id)));

/**
 * Delivery rows, the provider message ids of accepted ones, and the results of attempts not yet
 * applied to the rows (see results.ts). Reads that decide or show a status apply those results.
 * They read the results before the rows: a result is removed only once its rows are written, so a
 * row read afterwards is either as the result found it or already written (applying it again
 * changes nothing). Read the other way round, a result applied in between would be missed.
 */
export class DeliveryRows {
  /**
   * Publishes `delivery.outcome` when a write moves a delivery to a final provider status (intents
   * in `deliveries_outbox`). Null: no event (engine tests that do not look at them).
   */
  readonly outbox: Outbox | null;

  private constructor(
    private readonly model: Model<DeliveryDoc>,
    private readonly messages: Model<ProviderMessageDoc>,
    private readonly results: LotResults,
    outcomes: Omit<OutboxOptions, 'model'> | undefined,
  ) {
    this.outbox = outcomes ? new Outbox({ ...outcomes, model }) : null;
  }

  /** `outcomes`: where `delivery.outcome` goes (see `outbox`). */
  static open(db: Connection, outcomes?: Omit<OutboxOptions, 'model'>): DeliveryRows {
    return new DeliveryRows(
      modelOf<DeliveryDoc>(db, 'Delivery', schema),
      modelOf<ProviderMessageDoc>(db, 'ProviderMessage', providerMessageSchema),
      LotResults.open(db),
      outcomes,
    );
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
    await this.messages.createIndexes();
    await this.results.init();
    await this.outbox?.init();
  }

  /** Whether the delivery exists (its id is its dedupe key). */
  async exists(id: string): Promise<boolean> {
    return (await this.model.exists({ _id: id }).exec()) !== null;
  }

  /** Inserts deliveries that do not exist yet (the id is the dedupe key); returns how many were new. */
  async insertNew(docs: DeliveryDoc[]): Promise<number> {
    let created = 0;
    for (const part of chunks(docs, 500)) {
      created += (await insertEach(this.model, part as unknown as Record<string, unknown>[])).filter(Boolean).length;
    }
    return created;
  }

  /**
   * The lot's deliveries still to send: a delivery moved to another lot, closed meanwhile, or settled
   * by a result not yet applied (a lot reopened after its sender recorded it) is not among them.
   */
  async inLot(lot: string): Promise<DeliveryDoc[]> {
    const results = await this.results.forLot(lot);
    const docs = await this.model
      .find({ lot, statusRank: { $lt: STATUS_RANK.queued } })
      .lean<DeliveryDoc[]>()
      .exec();
    return applyResults(docs, results).filter((d) => d.statusRank < STATUS_RANK.queued);
  }

  /**
   * Records what one attempt of a lot came to. Deliveries moved to another lot (a retry, an unanswered
   * call, a deferral) are moved now: that lot is sent from the rows. The final outcomes, provider
   * message ids included, are one insert, applied to the rows by `applyDue`; reads and callbacks take
   * them into account meanwhile. Recording the same attempt twice changes nothing.
   */
  async recordAttempt(a: Attempt & { orgId: string; round: number; owner: string }, outcomes: Outcome[], at: Date): Promise<void> {
    const write = (group: Outcome[], below: DeliveryStatus, set: Record<string, unknown>, events: StatusEvent[]) =>
      this.writeGroup(a.lot, group, below, { ...set, updatedAt: at }, events);
    const of = <K extends Outcome['kind']>(kind: K) => outcomes.filter((o): o is Extract<Outcome, { kind: K }> => o.kind === kind);
    const tried = statusEvent('sending', a.startedAt, `attempt ${a.attempt}`);
    for (const group of Map.groupBy(of('retry'), (o) => `${o.toLot}|${o.error.code ?? ''}|${o.error.message}`).values()) {
      const { error, retryAt, toLot } = group[0];
      const detail = `transient error, retry at ${retryAt.toISOString()}: ${error.message}`;
      await write(group, 'queued', { status: 'sending', statusRank: STATUS_RANK.sending, lot: toLot, error, retryAt, attempts: a.attempt }, [
        tried,
        statusEvent('sending', at, detail),
      ]);
    }
    for (const group of Map.groupBy(of('unknown'), (o) => o.toLot).values()) {
      const detail = `attempt ${a.attempt}: no answer from the provider; asked again before any new attempt`;
      await write(group, 'queued', { status: 'sending', statusRank: STATUS_RANK.sending, lot: group[0].toLot, attempts: a.attempt }, [
        statusEvent('sending', a.startedAt, detail),
      ]);
    }
    for (const group of Map.groupBy(of('deferred'), (o) => o.toLot).values()) await write(group, 'queued', { lot: group[0].toLot }, []);
    const finals = outcomes.filter(isFinal);
    if (finals.length) {
      await this.results.insert({
        orgId: a.orgId,
        lot: a.lot,
        round: a.round,
        owner: a.owner,
        attempt: a.attempt,
        startedAt: a.startedAt,
        at,
        outcomes: finals,
      });
    }
  }

  /**
   * Applies recorded results to the rows, oldest first: this instance's, and other instances' recorded
   * before `othersBefore` (their instance may be gone). Returns how many deliveries they covered.
   */
  async applyDue(owner: string, othersBefore: Date, limit: number): Promise<number> {
    let covered = 0;
    for (const r of await this.results.due(owner, othersBefore, limit)) {
      await this.applyResult(r);
      covered += r.outcomes.length;
    }
    return covered;
  }

  /** How many recorded results of this instance are not applied yet. */
  pendingResultsOf(owner: string): Promise<number> {
    return this.results.countOf(owner);
  }

  /**
   * One update per group of deliveries with the same change (a lot's accepted messages: one group),
   * then the provider message ids of its accepted deliveries (a message found by its id is a row
   * already written), then the result goes.
   */
  private async applyResult(r: LotResult): Promise<void> {
    const groups = new Map<string, { change: FinalChange; outcomes: Outcome[] }>();
    for (const o of r.outcomes) {
      const change = finalChange(o, r, r.at);
      const key = JSON.stringify(change);
      const group = groups.get(key) ?? { change, outcomes: [] };
      group.outcomes.push(o);
      groups.set(key, group);
    }
    for (const { change, outcomes } of groups.values()) {
      if (outcomeStatus(change.set.status)) await this.writeFinalGroup(r.lot, outcomes, change, r.at);
      else await this.writeGroup(r.lot, outcomes, change.below, { ...change.set, updatedAt: r.at }, change.events);
    }
    const accepted = r.outcomes.filter((o) => o.kind === 'accepted');
    if (accepted.length) {
      await insertManyIgnoringDuplicates(
        this.messages,
        accepted.map((o) => ({ _id: o.providerId, deliveryId: o.id, provider: o.provider, at: r.at })),
      );
    }
    await this.results.remove(r.id);
  }

  /**
   * One update for deliveries of a lot, a few in parallel (on some backends an update costs a round
   * trip per document), filtered on the lot and on the status rank: writing twice, or after the
   * delivery moved on, changes nothing.
   */
  private async writeGroup(lot: string, group: { id: string }[], below: DeliveryStatus, set: Record<string, unknown>, events: StatusEvent[]): Promise<void> {
    const parts = chunks(group, Math.max(50, Math.ceil(group.length / PARALLEL_WRITES)));
    await Promise.all(
      parts.map((part) =>
        this.model
          .updateMany(
            { lot, _id: { $in: part.map((o) => o.id) }, statusRank: { $lt: STATUS_RANK[below] } },
            { $set: set, ...(events.length ? { $push: { events: { $each: events } } } : {}) },
          )
          .exec(),
      ),
    );
  }

  /**
   * A final provider status (delivered, failed) for deliveries of a lot, with their `delivery.outcome`:
   * one update per delivery, as each records its own event id. Only the rows still below the status
   * are read for their event (few: a lot's failures; the accepted ones are not final).
   */
  private async writeFinalGroup(lot: string, group: { id: string }[], change: FinalChange, at: Date): Promise<void> {
    const below = { $lt: STATUS_RANK[change.below] };
    const error = change.set.error;
    for (const part of chunks(group, OUTCOMES_PER_INTENT)) {
      const rows = await this.model
        .find({ lot, _id: { $in: part.map((o) => o.id) }, statusRank: below }, SUBJECT_FIELDS)
        .lean<Subject[]>()
        .exec();
      await this.writeFinals(
        rows.map((row) => ({
          id: row._id,
          event: outcomeEvent({ ...row, ...(change.set.to ? { to: change.set.to } : {}) }, change.set.status, error, at),
          write: async (push) => {
            const res = await this.model
              .updateOne(
                { _id: row._id, lot, statusRank: below },
                { $set: { ...change.set, updatedAt: at }, $push: { events: { $each: change.events }, ...push } },
              )
              .exec();
            return res.modifiedCount > 0;
          },
        })),
      );
    }
  }

  /**
   * Final status writes through the outbox: their events are recorded first, each write stores its
   * event's id in the same update, and the events of the writes that moved their row are published
   * (see Outbox). A write that moved nothing (the row got there first by another path) publishes
   * nothing. Returns how many rows moved.
   */
  private async writeFinals(writes: FinalWrite[]): Promise<number> {
    const run = async () => {
      const applied: Envelope[] = [];
      let moved = 0;
      await eachLimited(writes, PARALLEL_WRITES, async (w) => {
        if (!(await w.write(w.event ? eventIdsPush([w.event]) : {}))) return;
        moved++;
        if (w.event) applied.push(w.event);
      });
      return { result: moved, applied };
    };
    if (!this.outbox) return (await run()).result;
    const events = writes.flatMap((w) => (w.event ? [w.event] : []));
    return this.outbox.write(
      events,
      writes.map((w) => w.id),
      run,
    );
  }

  /**
   * A status reported by the provider (callback or reconciler); ignored unless it moves the status
   * forward. An error code is kept with a final failure. The message is found by its id, or, before
   * its result is applied, in the result of the delivery the callback names; the result's change is
   * then written with the status, so the row misses nothing of the attempt.
   */
  async providerStatus(
    report: { providerId: string; deliveryId?: string; errorCode?: string; errorMessage?: string },
    reported: ProviderStatus,
    at: Date,
  ): Promise<boolean> {
    const status = fromProviderStatus(reported);
    const failed = status === 'failed' || status === 'undelivered';
    const error = failed && report.errorCode ? { code: report.errorCode, message: report.errorMessage ?? `provider error ${report.errorCode}` } : undefined;
    const set = { status, statusRank: STATUS_RANK[status], updatedAt: at, ...(error ? { error: { ...error, transient: false } } : {}) };
    const reportedEvent = statusEvent(status, at, error?.message);
    const forward = async (deliveryId: string, push: Record<string, unknown> = {}) =>
      (
        await this.model
          .updateOne({ _id: deliveryId, statusRank: { $lt: STATUS_RANK[status] } }, { $set: set, $push: { events: reportedEvent, ...push } })
          .exec()
      ).modifiedCount > 0;
    const finalError: FinalError | undefined = error && { code: error.code, transient: false };
    // A final status goes with its delivery.outcome, built from the row as the write leaves it.
    const final = (row: Subject, write: FinalWrite['write']) =>
      this.writeFinals([{ id: row._id, event: outcomeEvent(row, status, finalError, at), write }]).then((moved) => moved > 0);

    const message = await this.messages.findById(report.providerId).lean<ProviderMessageDoc>().exec();
    if (message) {
      if (!outcomeStatus(status)) return forward(message.deliveryId);
      const row = await this.model.findById(message.deliveryId, SUBJECT_FIELDS).lean<Subject>().exec();
      if (!row || row.statusRank >= STATUS_RANK[status]) return false;
      return final(row, (push) => forward(row._id, push));
    }
    // Not applied yet (or being applied): the message is in the result of the delivery's lot.
    if (!report.deliveryId) return false;
    const row = await this.model
      .findById(report.deliveryId, { ...SUBJECT_FIELDS, lot: 1 })
      .lean<Subject & Pick<DeliveryDoc, 'lot'>>()
      .exec();
    const results = row?.lot ? await this.results.forLot(row.lot) : [];
    const result = results.find((r) => r.outcomes.some((o) => o.id === report.deliveryId && o.kind === 'accepted' && o.providerId === report.providerId));
    if (!row || !result) return false; // not a message Relais knows
    const change = finalChange(
      result.outcomes.find((o) => o.id === report.deliveryId)!,
      result,
      result.at,
    );
    if (STATUS_RANK[status] <= STATUS_RANK[change.below]) return false; // the result says as much
    // While the row is not written from the result, both changes at once; else the status alone.
    const write = async (push: Record<string, unknown>) =>
      (
        await this.model
          .updateOne(
            { _id: row._id, lot: result.lot, statusRank: { $lt: STATUS_RANK[change.below] } },
            { $set: { ...change.set, ...set }, $push: { events: { $each: [...change.events, reportedEvent] }, ...push } },
          )
          .exec()
      ).modifiedCount > 0 || (await forward(row._id, push));
    if (!outcomeStatus(status)) return write({});
    return final({ ...row, ...(change.set.to ? { to: change.set.to } : {}) }, write);
  }

  /** The provider message id of each accepted delivery among `ids`. */
  async providerIds(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of chunks(ids, 500)) {
      for (const m of await this.messages
        .find({ deliveryId: { $in: part } })
        .lean<ProviderMessageDoc[]>()
        .exec())
        out.set(m.deliveryId, m._id);
    }
    return out;
  }

  /**
   * Deliveries still to send whose last change is older than `before`: their lot is checked by the
   * reconciler. Those a recorded result settles are not among them, applied or not; the rows in the
   * lots of pending results (most of them settled) are read apart, so they take no place from the
   * others. While pending results settle more than STRAYS_WAIT_FROM rows (a large slot whose rows
   * have not caught up), none: the database still has those rows to send, and finding the strays
   * among them would read them all at each pass.
   */
  async unsent(before: Date, limit: number): Promise<Pick<DeliveryDoc, '_id' | 'orgId' | 'lot' | 'attempts'>[]> {
    const results = await this.results.all();
    const settled = settledBy(results);
    if (settled.size > STRAYS_WAIT_FROM) return [];
    const lots = [...new Set(results.map((r) => r.lot))];
    const read = (lotFilter: object) =>
      this.byRank<Pick<DeliveryDoc, '_id' | 'orgId' | 'lot' | 'attempts'>>(NOT_SENT, before, limit, { _id: 1, orgId: 1, lot: 1, attempts: 1 }, lotFilter);
    const docs = await read(lots.length ? { lot: { $nin: lots } } : {});
    if (lots.length === 0 || docs.length >= limit) return docs;
    const inPendingLots = (await read({ lot: { $in: lots } })).filter((d) => !settled.has(d._id));
    return [...docs, ...inPendingLots].slice(0, limit);
  }

  /**
   * Rows at one of `ranks` whose last change is older than `before`, at most `limit`: one query per
   * rank, an equality that FerretDB's index serves (a range on the rank scans the whole collection
   * there; MongoDB serves either from { statusRank, updatedAt }).
   */
  private async byRank<T>(ranks: readonly number[], before: Date, limit: number, fields: Record<string, 1>, more: object = {}): Promise<T[]> {
    const out: T[] = [];
    for (const statusRank of ranks) {
      if (out.length >= limit) break;
      out.push(
        ...(await this.model
          .find({ statusRank, updatedAt: { $lt: before }, ...more }, fields)
          .limit(limit - out.length)
          .lean<T[]>()
          .exec()),
      );
    }
    return out;
  }

  /** Moves deliveries without a lot into `lot` (rows written before lots existed). */
  async moveUnlotted(ids: string[], lot: string, at: Date): Promise<void> {
    for (const part of chunks(ids, 500)) {
      await this.model.updateMany({ _id: { $in: part }, lot: null, statusRank: { $lt: STATUS_RANK.queued } }, { $set: { lot, updatedAt: at } }).exec();
    }
  }

  /** Accepted by the provider but without a final status since `before`. */
  unfinished(before: Date, limit: number): Promise<Pick<DeliveryDoc, '_id'>[]> {
    return this.byRank<Pick<DeliveryDoc, '_id'>>([STATUS_RANK.queued, STATUS_RANK.sent], before, limit, { _id: 1 });
  }

  /**
   * A person's reminders not sent yet, and their lots (whose payloads go before the reminders are
   * cancelled). One that a recorded result settles (sent, say) is not among them.
   */
  async pendingReminders(orgId: string, personId: string): Promise<{ ids: string[]; lots: string[] }> {
    const docs = await this.withResults(() =>
      this.model
        .find({ orgId, personId, type: 'domiciliation.reminder', statusRank: { $lt: STATUS_RANK.queued } })
        .lean<DeliveryDoc[]>()
        .exec(),
    );
    const pending = docs.filter((d) => d.statusRank < STATUS_RANK.queued);
    return { ids: pending.map((d) => d._id), lots: [...new Set(pending.flatMap((d) => (d.lot ? [d.lot] : [])))] };
  }

  /** Cancels deliveries not sent yet, with the reason (those sent meanwhile are left as they are). */
  async cancel(ids: string[], reason: string, at: Date): Promise<void> {
    for (const part of chunks(ids, 500)) {
      await this.model
        .updateMany(
          { _id: { $in: part }, statusRank: { $lt: STATUS_RANK.queued } },
          { $set: { status: 'cancelled', statusRank: STATUS_RANK.cancelled, reason, updatedAt: at }, $push: { events: statusEvent('cancelled', at, reason) } },
        )
        .exec();
    }
  }

  /** A person's deliveries, newest first, with the recorded results applied. */
  history(orgId: string, personId: string, limit: number): Promise<DeliveryDoc[]> {
    return this.withResults(() => this.model.find({ orgId, personId }).sort({ dueAt: -1 }).limit(limit).lean<DeliveryDoc[]>().exec());
  }

  /**
   * Rows as `read` returns them, with the pending results of their lots applied: a read whose cost
   * follows the rows it returns, not the pending results. The rows are read once to learn their
   * lots, then again after those lots' results (results before rows, see the class). A row that
   * moved to another lot in between is read once more with that lot's results.
   */
  private async withResults(read: () => Promise<DeliveryDoc[]>): Promise<DeliveryDoc[]> {
    const open = (docs: DeliveryDoc[]) => docs.flatMap((d) => (d.lot && d.statusRank < STATUS_RANK.delivered ? [d.lot] : []));
    const first = await read();
    const lots = new Set(open(first));
    // Rows without a lot, or final, are beyond any pending result: the first read is the answer.
    if (lots.size === 0) return first;
    for (let round = 0; ; round++) {
      const results = await this.results.forLots([...lots]);
      const docs = await read();
      const moved = open(docs).filter((l) => !lots.has(l));
      if (moved.length === 0 || round === 2) return applyResults(docs, results);
      for (const l of moved) lots.add(l);
    }
  }

  private filter(orgId: string, f: DeliveryFilter) {
    return {
      orgId,
      ...(f.status ? { status: f.status } : {}),
      ...(f.type ? { type: f.type } : {}),
      ...(f.from || f.to ? { dueAt: { ...(f.from ? { $gte: f.from } : {}), ...(f.to ? { $lt: f.to } : {}) } } : {}),
    };
  }

  /**
   * A page of an org's deliveries, newest first, with the recorded results applied, and the last row
   * of the page when more follow (the next page starts after it). With a status filter, the rows a
   * pending result moves into that status are read by their lots and take their place in the page.
   */
  async list(
    orgId: string,
    f: DeliveryFilter,
    limit: number,
    before?: { dueAt: Date; id: string },
  ): Promise<{ items: DeliveryDoc[]; last: DeliveryDoc | null }> {
    // Whether `d` comes after `than` in the list's order.
    const older = (d: DeliveryDoc, than: { dueAt: Date; id: string }) =>
      d.dueAt < than.dueAt || (d.dueAt.getTime() === than.dueAt.getTime() && d._id < than.id);
    const page = before ? { $or: [{ dueAt: { $lt: before.dueAt } }, { dueAt: before.dueAt, _id: { $lt: before.id } }] } : {};
    const results = await this.results.forOrg(orgId);
    const docs = await this.model
      .find({ ...this.filter(orgId, f), ...page })
      .sort({ dueAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean<DeliveryDoc[]>()
      .exec();
    const rows = applyResults(docs, results).filter((d) => matches(d, f));
    if (f.status && results.length > 0) {
      const listed = new Set(rows.map((d) => d._id));
      // A moved row older than the last row read waits for its page: the rows between are not read yet.
      const end = docs.length > limit ? docs[docs.length - 1] : null;
      const within = (d: DeliveryDoc) => (!before || older(d, before)) && (!end || !older(d, { dueAt: end.dueAt, id: end._id }));
      const moved = await this.inPendingLots(orgId, results);
      rows.push(...moved.filter((d) => !listed.has(d._id) && matches(d, f) && within(d)));
      rows.sort((a, b) => b.dueAt.getTime() - a.dueAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0));
    }
    const more = rows.length > limit || docs.length > limit;
    const items = rows.slice(0, limit);
    return { items, last: more && items.length > 0 ? items[items.length - 1] : null };
  }

  /** The org's rows in the lots of pending results, with those results applied: one read per lot. */
  private async inPendingLots(orgId: string, results: LotResult[]): Promise<DeliveryDoc[]> {
    const rows: DeliveryDoc[] = [];
    for (const lot of new Set(results.map((r) => r.lot))) rows.push(...(await this.model.find({ lot, orgId }).lean<DeliveryDoc[]>().exec()));
    return applyResults(rows, results);
  }

  /**
   * Counts per status, with the recorded results applied: the rows outside the lots of pending
   * results are counted by the database, those inside are read by their lots and counted as shown
   * (nothing to read once the results are applied).
   */
  async counts(orgId: string, f: DeliveryFilter): Promise<Record<string, number>> {
    const results = await this.results.forOrg(orgId);
    const lots = [...new Set(results.map((r) => r.lot))];
    const [groups, pending] = await Promise.all([
      this.model
        .aggregate<{ _id: string; n: number }>([
          { $match: { ...this.filter(orgId, f), ...(lots.length ? { lot: { $nin: lots } } : {}) } },
          { $group: { _id: '$status', n: { $sum: 1 } } },
        ])
        .exec(),
      this.inPendingLots(orgId, results),
    ]);
    const counts: Record<string, number> = Object.fromEntries(groups.map((g) => [g._id, g.n]));
    for (const d of pending) if (matches(d, f)) counts[d.status] = (counts[d.status] ?? 0) + 1;
    return counts;
  }
}

/** The rows with the recorded results applied, oldest result first. */
function applyResults(docs: DeliveryDoc[], results: LotResult[]): DeliveryDoc[] {
  if (results.length === 0) return docs;
  const changes = new Map<string, { lot: string; change: FinalChange; at: Date }[]>();
  for (const r of [...results].sort((a, b) => a.at.getTime() - b.at.getTime())) {
    for (const o of r.outcomes) changes.set(o.id, [...(changes.get(o.id) ?? []), { lot: r.lot, change: finalChange(o, r, r.at), at: r.at }]);
  }
  // As the database applies them: to the delivery while it is in the result's lot.
  return docs.map((d) => (changes.get(d._id) ?? []).reduce((doc, c) => (doc.lot === c.lot ? withChange(doc, c.change, c.at) : doc), d));
}

/** Whether a delivery of the org passes the ops list filter, as the database query does. Pure. */
function matches(d: DeliveryDoc, f: DeliveryFilter): boolean {
  if (f.status && d.status !== f.status) return false;
  if (f.type && d.type !== f.type) return false;
  if (f.from && d.dueAt < f.from) return false;
  if (f.to && d.dueAt >= f.to) return false;
  return true;
}
