import { SharedRateLimit } from '@relais/shared';
import type { Clock } from '../clock';
import type { DeliveryLedger } from '../delivery/ledger';
import { channelOf, type LotDoc, type SendItem } from '../delivery/lot';
import { acceptedStatus, type Outcome } from '../delivery/status';
import type { Recipients } from '../planning/recipients';
import type { Claims } from './claims';
import { blocker, followsConsent, retryDelayMs } from '../planning/deliveries';
import { ProviderError, type Channel, type Provider } from './providers/provider';
import type { SettingsCache } from '../settings/cache';
import { AMBIGUOUS, LOTS_PER_PASS, MAX_LOTS_PER_PASS, MAX_OFFERED, RECHECK_MARGIN_MS, RESULTS_PER_PASS, type SenderOptions } from './options';

/**
 * An attempt's outcome, naming the number it went to when that is not the row's (a new consent
 * number applied at send time): the row then records it, and `delivery.outcome` reports it.
 */
function sentTo(o: Outcome, rowTo: string | null, to: string | null): Outcome {
  return (o.kind === 'accepted' || o.kind === 'failed') && to && to !== rowTo ? { ...o, to } : o;
}

/** A lot this instance won, with what it sends (read with the lot's payload, or from the rows). */
interface Claimed {
  lot: LotDoc;
  read: { items: SendItem[]; fromPayload: boolean };
  /** Wall clock: the lot's calls start no later than `maxBatchMs` after it. */
  claimedAt: number;
}

/** A delivery of the lot as re-checked: why it cannot go now (null: it can), and the number and sender id to use. */
interface Checked {
  doc: SendItem;
  why: string | null;
  to: string | null;
  from: string | null;
}

interface Logger {
  warn(obj: object, msg?: string): void;
}

/**
 * Sends what is due, one lot at a time. A lot is claimed by a unique insert; consent, number and
 * the org switch are re-checked right before the calls; outcomes are recorded per group. Before any
 * outcome moves a delivery to a follow-up lot (a retry, an unanswered call), that lot exists. A
 * sender that dies mid-lot leaves its claim: the reconciler reopens the lot, and each of its
 * deliveries is looked up at the provider before it is sent again.
 */
export class Sender {
  private lastSentAt = 0;
  /** Lots this instance's scheduler just wrote: the next pass sends them without reading the ready lots. */
  private offered: LotDoc[] = [];

  constructor(
    private readonly deps: {
      ledger: DeliveryLedger;
      recipients: Recipients;
      claims: Claims;
      settings: SettingsCache;
      /** Who takes each channel's messages: SMS (Twilio) and e-mail (SMTP). */
      providers: Record<Channel, Provider>;
      /** SMS only: e-mail goes as fast as the SMTP pool takes it. */
      rate: SharedRateLimit | null;
      clock: Clock;
      log: Logger;
    },
    private readonly opts: SenderOptions,
  ) {}

  /**
   * One pass; returns how many deliveries it handled (0: nothing due). The outcomes of a lot are
   * recorded while the next lot is sent (one recording in flight), and all before the pass ends.
   * Once nothing was sent for `applyAfterIdleMs`, it applies recorded results to the delivery rows
   * instead; while it keeps sending, only those beyond `maxPendingResults`.
   */
  async runOnce(): Promise<number> {
    const sent = await this.sendDue();
    if (sent > 0) {
      this.lastSentAt = Date.now();
      const over = (await this.deps.ledger.pendingOf(this.opts.owner)) - this.opts.maxPendingResults;
      if (over > 0) await this.deps.ledger.settle(this.opts.owner, new Date(0), over);
      return sent;
    }
    if (Date.now() - this.lastSentAt < this.opts.applyAfterIdleMs) return 0;
    const othersBefore = new Date(this.deps.clock.now().getTime() - this.opts.stuckAfterMs);
    return this.deps.ledger.settle(this.opts.owner, othersBefore, RESULTS_PER_PASS);
  }

  /**
   * A lot this instance's scheduler has just written (its payload aside: the sender reads it, as a
   * cancellation may drop it). It goes out in the next pass, before the ready lots are read again:
   * a slot's lots follow each other without a query each, and older ready lots wait at most the
   * time the slot takes to be written.
   */
  offer(lot: LotDoc): void {
    if (this.offered.length < MAX_OFFERED) this.offered.push({ ...lot, payload: undefined });
  }

  /**
   * Sends the lots that are due (those offered first, and those offered meanwhile); returns how
   * many deliveries it handled. While a lot's calls run, the next lot is claimed and read, so the
   * calls of one follow those of the other; its consent re-check stays right before its calls.
   */
  async sendDue(): Promise<number> {
    const { ledger, clock } = this.deps;
    let handled = 0;
    let recording: Promise<void> | null = null;
    const queue = this.takeOffered();
    if (queue.length === 0) queue.push(...(await ledger.readyLots(clock.now(), LOTS_PER_PASS)));
    let taken = 0;
    const nextLot = () => {
      if (taken >= MAX_LOTS_PER_PASS) return undefined;
      if (queue.length === 0) queue.push(...this.takeOffered());
      const lot = queue.shift();
      if (lot) taken++;
      return lot;
    };
    // A pass that ends on an error leaves the lot claimed ahead to the reconciler, as a crash would.
    let upcoming = this.claimNext(nextLot);
    upcoming.catch(() => undefined);
    try {
      for (let claimed = await upcoming; claimed; claimed = await upcoming) {
        upcoming = this.claimNext(nextLot);
        upcoming.catch(() => undefined); // awaited by the next turn of the loop
        const sent = await this.sendLot(claimed);
        handled += Math.max(1, sent.count);
        // A failed recording ends the pass here: the lot just sent stays claimed, and the reconciler
        // reopens it (its deliveries are looked up at the provider before any new call).
        if (recording) await recording;
        recording = sent.record();
        recording.catch(() => undefined); // awaited above or below; not an unhandled rejection meanwhile
      }
    } finally {
      // Lots not taken go first next pass (those read as ready would be found again anyway).
      this.offered.unshift(...queue);
      if (recording) await recording;
    }
    return handled;
  }

  /** The offered lots that are due (the others are found as ready lots when they are). */
  private takeOffered(): LotDoc[] {
    const now = this.deps.clock.now();
    const due = this.offered.filter((l) => l.dueAt <= now);
    this.offered = [];
    return due;
  }

  /** Claims the next lot this instance wins, with what it sends; null when none is left. */
  private async claimNext(nextLot: () => LotDoc | undefined): Promise<Claimed | null> {
    const { ledger, claims, clock } = this.deps;
    for (let lot = nextLot(); lot; lot = nextLot()) {
      const key = `send:${lot._id}:${lot.round}`;
      if (!(await claims.claim([key], this.opts.owner, clock.now())).has(key)) continue;
      const claimedAt = Date.now();
      return { lot, read: await ledger.toSend(lot), claimedAt };
    }
    return null;
  }

  /** Sends a lot; returns how many deliveries it held and how to record what came of them. */
  private async sendLot({ lot, read, claimedAt }: Claimed): Promise<{ count: number; record: () => Promise<void> }> {
    const { ledger, clock } = this.deps;
    const startedAt = clock.now();
    // Read ahead: one of its deliveries may have been cancelled since.
    const docs = await ledger.stillToSend(lot, read);
    const outcomes = await this.callProvider(lot, await this.recheck(lot, docs), claimedAt + this.opts.maxBatchMs);
    const record = () => ledger.recordAttempt(lot, { owner: this.opts.owner, startedAt }, outcomes, clock.now());
    return { count: docs.length, record };
  }

  /**
   * Consent, number and the org's switch, as they are now: the consent changes applied since the
   * lot's recipients were read. A changed number is used as it is now. A contact SMS goes to the
   * number it was written with, whatever the consent: only the org's switch applies to it.
   */
  private async recheck(lot: LotDoc, docs: SendItem[]): Promise<Checked[]> {
    if (docs.length === 0) return [];
    const settings = await this.deps.settings.get(lot.orgId);
    const changes = docs.some((d) => followsConsent(d.type))
      ? await this.deps.recipients.changesSince(lot.orgId, new Date(lot.checkedAt.getTime() - RECHECK_MARGIN_MS))
      : new Map<string, never>();
    return docs.map((doc) => {
      // An e-mail a person wrote goes to the address they chose, from the service's sender address.
      if (doc.channel === 'email') return { doc, why: null, to: doc.to, from: doc.from };
      const recipient = (followsConsent(doc.type) ? changes.get(doc.personId) : undefined) ?? { consent: true, phoneE164: doc.to };
      const why = blocker(recipient, settings);
      return { doc, why: why && `${why} at send time`, to: recipient.phoneE164, from: settings.senderId };
    });
  }

  /** The calls of a lot; from `deadline` on (wall clock), the deliveries not started go to a lot due at once. */
  private async callProvider(lot: LotDoc, checked: Checked[], deadline: number): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    // The provider's clock is the wall clock; the service clock may be shifted (CLOCK_OFFSET_MS).
    const since = new Date(lot.createdAt.getTime() - (this.deps.clock.now().getTime() - Date.now()) - 60_000);
    let next = 0;
    const worker = async () => {
      while (next < checked.length) {
        const { doc, why, to, from } = checked[next++];
        // In a reopened lot, a message the provider already has is recorded, whatever changed since.
        const found = lot.recover ? await this.alreadySent(doc, [doc.to, to], since) : null;
        if (found) outcomes.push(found);
        else if (why) outcomes.push({ id: doc._id, kind: 'closed', status: 'skipped', reason: why });
        else if (Date.now() > deadline) outcomes.push({ id: doc._id, kind: 'deferred', toLot: `${lot._id}/d${lot.round}` });
        else outcomes.push(sentTo(await this.sendOne(lot, { ...doc, to, from }), doc.to, to));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, checked.length) }, worker));
    return outcomes;
  }

  /** For a lot whose earlier call may have reached the provider: the message, if the provider has it. */
  private async alreadySent(d: SendItem, numbers: (string | null)[], since: Date): Promise<Outcome | null> {
    const channel = channelOf(d);
    const provider = this.deps.providers[channel];
    // SMTP cannot be asked: an e-mail whose call went unanswered is sent again (at least once).
    if (!provider.findSent || !d.content) return null;
    for (const to of new Set(numbers)) {
      const found = to ? await provider.findSent({ to, body: d.content, since }) : null;
      if (found)
        return sentTo(
          { id: d._id, kind: 'accepted', status: acceptedStatus(found.status, channel), provider: provider.name, providerId: found.providerId },
          d.to,
          to,
        );
    }
    return null;
  }

  private async sendOne(lot: LotDoc, d: SendItem): Promise<Outcome> {
    const attempt = lot.attempt;
    const channel = channelOf(d);
    const provider = this.deps.providers[channel];
    try {
      if (channel === 'sms' && this.deps.rate && this.opts.ratePerSecond > 0) {
        await this.deps.rate.take(`sms:${d.from}`, d.segments, this.opts.ratePerSecond);
      }
      const accepted = await provider.send({
        deliveryId: d._id,
        channel,
        to: d.to!,
        from: d.from ?? '',
        ...(d.subject !== undefined ? { subject: d.subject } : {}),
        ...(d.mail ? { mail: d.mail } : {}),
        body: d.content!,
      });
      return { id: d._id, kind: 'accepted', status: acceptedStatus(accepted.status, channel), provider: provider.name, providerId: accepted.providerId };
    } catch (err) {
      const e = err instanceof ProviderError ? err : new ProviderError((err as Error).message, true);
      if (e.transient && AMBIGUOUS.has(e.code ?? '')) {
        // The request may have reached the provider: resending now could send twice. The delivery
        // goes to a lot that asks the provider first, after STUCK_AFTER_MS.
        this.deps.log.warn({ delivery: d._id, attempt, code: e.code }, 'no answer from the provider; asked again later');
        return { id: d._id, kind: 'unknown', toLot: `${lot._id}/u${lot.round}` };
      }
      const error = { ...(e.code ? { code: e.code } : {}), message: e.message, transient: e.transient };
      if (!e.transient || attempt >= this.opts.maxAttempts) {
        return { id: d._id, kind: 'failed', error: { ...error, message: e.transient ? `${e.message} (gave up after ${attempt} attempts)` : e.message } };
      }
      const retryAt = new Date(this.deps.clock.now().getTime() + retryDelayMs(attempt, this.opts.retryBaseMs));
      this.deps.log.warn({ delivery: d._id, attempt, code: e.code }, 'transient provider error, will retry');
      return { id: d._id, kind: 'retry', retryAt, error: { ...error, transient: true }, toLot: `${lot._id}/a${attempt + 1}` };
    }
  }
}
