import type { Connection } from 'mongoose';
import type { OutboxOptions } from '@relais/shared';
import { followUpLots, newLot, sendItem, type LotDoc, type SendItem } from './lot';
import { SendLots } from './lots';
import { DeliveryRows, type DeliveryFilter } from './rows';
import type { DeliveryDoc, Outcome, ProviderStatus } from './status';

export type { DeliveryFilter } from './rows';

export interface LedgerOptions {
  /** After how long a provider call left without an answer is asked about (the lot of such calls is due then). */
  stuckAfterMs: number;
  /** Where `delivery.outcome` goes; absent: no event (engine tests that do not look at them). */
  outcomes?: Omit<OutboxOptions, 'model'>;
}

/** A provider status report: a callback's, or the reconciler's answer from the provider. */
export interface StatusReport {
  providerId: string;
  deliveryId?: string;
  errorCode?: string;
  errorMessage?: string;
}

/** Deliveries still to send long after their last change, with the lot they point to (absent: never written). */
export interface Strays {
  lotId: string | null;
  lot: LotDoc | undefined;
  orgId: string;
  ids: string[];
  /** The most attempts any of them made. */
  attempts: number;
}

/**
 * The delivery ledger: the one owner of a delivery's state. A delivery's status is its row
 * (`deliveries`), with the outcomes of attempts not yet applied to it (`lot_results`), its provider
 * message id (`provider_messages`), and, before its lot's first round, the lot's payload
 * (`send_lots`). Nothing outside this folder reads or writes those collections: the scheduler,
 * sender, reconciler and actions use the verbs below, and every read comes back with the pending
 * outcomes applied (rows.ts: "results before rows").
 *
 * Why the pending outcomes rather than writing each row at once: on FerretDB an updated document
 * costs a PostgreSQL round trip (~1.3-1.5 ms), so writing a lot's 500 rows between two lots would
 * hold a slot at a few hundred SMS a second; recorded as one document, the rows catch up when the
 * sender is idle. On MongoDB the same code runs, and the rows catch up within a second of a slot.
 *
 * The payload rule lives here too: a lot's first round sends the payload it was written with, and
 * anything that closes one of its deliveries drops that payload first, so the lot then sends from
 * the rows, which say.
 */
export class DeliveryLedger {
  private constructor(
    private readonly rows: DeliveryRows,
    private readonly lots: SendLots,
    private readonly opts: LedgerOptions,
  ) {}

  static open(db: Connection, opts: LedgerOptions): DeliveryLedger {
    return new DeliveryLedger(DeliveryRows.open(db, opts.outcomes), SendLots.open(db), opts);
  }

  /** Publishes `delivery.outcome` (null: no events); its sweep and stop are the service's. */
  get outbox() {
    return this.rows.outbox;
  }

  async init(): Promise<void> {
    await Promise.all([this.rows.init(), this.lots.init()]);
  }

  // Writing deliveries.

  /** Whether the delivery exists (its id is its dedupe key). */
  exists(id: string): Promise<boolean> {
    return this.rows.exists(id);
  }

  /**
   * Writes deliveries with their lots (see assignLots): each lot's deliveries, then the lot with what
   * its first round sends, so that a lot is never sent before its deliveries exist and the first
   * lots go out while the next are written; `onLot` is told of each. A crash in between leaves
   * deliveries whose lot is missing, for the reconciler (see strays). Deliveries closed at once (no
   * lot) are written last. A lot whose deliveries existed already (written again, maybe with another
   * lot size) gets no payload: they may belong to another lot, and its rows say. Returns how many
   * deliveries were new.
   */
  async create(lotted: { docs: DeliveryDoc[]; lots: LotDoc[] }, onLot?: (lot: LotDoc) => void): Promise<number> {
    let created = 0;
    for (const lot of lotted.lots) {
      const inLot = lotted.docs.filter((d) => d.lot === lot._id);
      const fresh = await this.rows.insertNew(inLot);
      created += fresh;
      await this.lots.insertNew([{ ...lot, payload: fresh === inLot.length ? JSON.stringify(inLot.map(sendItem)) : null }]);
      onLot?.(lot);
    }
    return created + (await this.rows.insertNew(lotted.docs.filter((d) => !d.lot)));
  }

  // Sending.

  /** Ready lots due by `now`, oldest first, without their payload (most are claimed by another instance). */
  readyLots(now: Date, limit: number): Promise<LotDoc[]> {
    return this.lots.ready(now, limit);
  }

  /**
   * What a lot the caller has claimed sends: the first round of a lot written with a payload sends
   * that payload; any other round reads the rows, so a delivery moved to another lot or closed since
   * is not sent from this one.
   */
  async toSend(lot: LotDoc): Promise<{ items: SendItem[]; fromPayload: boolean }> {
    const payload = lot.round === 0 ? await this.lots.payload(lot._id) : null;
    return payload ? { items: payload, fromPayload: true } : { items: await this.rows.inLot(lot._id), fromPayload: false };
  }

  /** Right before the calls of a lot read ahead: its payload, unless dropped since (then the rows). */
  async stillToSend(lot: LotDoc, read: { items: SendItem[]; fromPayload: boolean }): Promise<SendItem[]> {
    return read.fromPayload && !(await this.lots.payloadKept(lot._id)) ? this.rows.inLot(lot._id) : read.items;
  }

  /**
   * Records what one attempt of a lot came to, and closes the lot (unless it was reopened meanwhile).
   * The follow-up lots exist before any delivery moves to them (a retry at its time, an unanswered
   * call after `stuckAfterMs`, a deferral at once); the final outcomes are one pending result.
   */
  async recordAttempt(lot: LotDoc, attempt: { owner: string; startedAt: Date }, outcomes: Outcome[], at: Date): Promise<void> {
    await this.lots.insertNew(followUpLots(lot, outcomes, at, this.opts.stuckAfterMs));
    await this.rows.recordAttempt(
      { lot: lot._id, orgId: lot.orgId, round: lot.round, owner: attempt.owner, attempt: lot.attempt, startedAt: attempt.startedAt },
      outcomes,
      at,
    );
    await this.lots.done(lot, at);
  }

  /**
   * Applies pending results to the rows, oldest first: `owner`'s, and other instances' recorded
   * before `othersBefore` (their instance may be gone). Returns how many deliveries they covered.
   */
  settle(owner: string, othersBefore: Date, limit: number): Promise<number> {
    return this.rows.applyDue(owner, othersBefore, limit);
  }

  /** How many results `owner` recorded that are not applied yet. */
  pendingOf(owner: string): Promise<number> {
    return this.rows.pendingResultsOf(owner);
  }

  /** A status the provider reports (callback or reconciler); true when it moved the delivery forward. */
  providerStatus(report: StatusReport, status: ProviderStatus, at: Date): Promise<boolean> {
    return this.rows.providerStatus(report, status, at);
  }

  // Cancelling.

  /** Cancels a person's reminders not sent yet, with the reason; their lots then send from the rows, which say so. */
  async cancelReminders(orgId: string, personId: string, reason: string, at: Date): Promise<void> {
    const pending = await this.rows.pendingReminders(orgId, personId);
    await this.lots.dropPayloads(pending.lots);
    await this.rows.cancel(pending.ids, reason, at);
  }

  // Recovering what a crash or a lost callback left open (the reconciler).

  /** Ready lots due before `before`: a backlog, or lots whose sender died. */
  overdueLots(before: Date, limit: number): Promise<LotDoc[]> {
    return this.lots.overdue(before, limit);
  }

  /**
   * Opens the lot again as a new round whose deliveries are looked up at the provider before they
   * are sent. The caller holds the claim that makes it the only one reopening this round.
   */
  reopen(lot: Pick<LotDoc, '_id' | 'round'>): Promise<void> {
    return this.lots.reopen(lot);
  }

  /** Deliveries still to send whose last change is older than `before`, grouped by their lot. */
  async strays(before: Date, limit: number): Promise<Strays[]> {
    const unsent = await this.rows.unsent(before, limit);
    if (unsent.length === 0) return [];
    const known = await this.lots.byIds([...new Set(unsent.flatMap((d) => (d.lot ? [d.lot] : [])))]);
    return [...Map.groupBy(unsent, (d) => d.lot ?? `:${d.orgId}`).values()].map((group) => ({
      lotId: group[0].lot ?? null,
      lot: group[0].lot ? known.get(group[0].lot) : undefined,
      orgId: group[0].orgId,
      ids: group.map((d) => d._id),
      attempts: Math.max(...group.map((d) => d.attempts)),
    }));
  }

  /**
   * A lot for strays whose lot was never written (or never set): whether a call was made for them is
   * unknown, so it asks the provider before any new one.
   */
  async relot(strays: Strays, now: Date, checkedAt: Date): Promise<void> {
    const id = strays.lotId ?? `recovered:${strays.ids[0]}`;
    await this.lots.insertNew([newLot(id, strays.orgId, now, now, { attempt: strays.attempts + 1, recover: true, checkedAt })]);
    if (!strays.lotId) await this.rows.moveUnlotted(strays.ids, id, now);
  }

  /** The provider message ids of accepted deliveries without a final status since `before`. */
  async unfinished(before: Date, limit: number): Promise<string[]> {
    const rows = await this.rows.unfinished(before, limit);
    return rows.length ? [...(await this.rows.providerIds(rows.map((d) => d._id))).values()] : [];
  }

  /** Removes lots closed before `before` (their deliveries keep their rows). */
  async prune(before: Date): Promise<void> {
    await this.lots.prune(before);
  }

  // Reading, always with the pending outcomes applied.

  /** A person's deliveries, newest first. */
  history(orgId: string, personId: string, limit: number): Promise<DeliveryDoc[]> {
    return this.rows.history(orgId, personId, limit);
  }

  /** A page of an org's deliveries, newest first, and the last row of the page when more follow. */
  page(orgId: string, f: DeliveryFilter, limit: number, before?: { dueAt: Date; id: string }): Promise<{ items: DeliveryDoc[]; last: DeliveryDoc | null }> {
    return this.rows.list(orgId, f, limit, before);
  }

  /** Counts per status. */
  counts(orgId: string, f: DeliveryFilter): Promise<Record<string, number>> {
    return this.rows.counts(orgId, f);
  }
}
