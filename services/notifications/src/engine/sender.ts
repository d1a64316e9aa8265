import { SharedRateLimit } from '@relais/shared';
import type { Clock } from '../clock';
import type { Deliveries, Outcome } from '../data/deliveries';
import type { Recipients } from '../data/recipients';
import type { Schedule } from '../data/schedule';
import { acceptedStatus, blocker, retryDelayMs, type DeliveryDoc } from '../domain/deliveries';
import { ProviderError, type Provider } from '../providers/provider';
import type { SettingsCache } from './settingsCache';

export interface SenderOptions {
  owner: string;
  batch: number;
  /** Provider calls in flight at once per instance. */
  concurrency: number;
  /** Segments per second per sender id, shared by all instances (0: no limit). */
  ratePerSecond: number;
  retryBaseMs: number;
  maxAttempts: number;
  /**
   * A batch stops starting provider calls after this long (rate-limit waits can stretch it); the rest
   * is handed back for the next pass, well before the reconciler would take it for a crash.
   */
  maxBatchMs: number;
}

/** Transport errors after which the provider may or may not have accepted the message. */
const AMBIGUOUS = new Set(['timeout', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

interface Logger {
  warn(obj: object, msg?: string): void;
}

/**
 * Sends what is due. Each delivery is claimed per attempt by a unique insert, consent, number
 * and the org switch are checked again right before the call, and the row says 'sending'
 * before the provider is called, so a crash mid-call is found by the reconciler, never resent blindly.
 */
export class Sender {
  constructor(
    private readonly deps: {
      deliveries: Deliveries;
      recipients: Recipients;
      schedule: Schedule;
      settings: SettingsCache;
      provider: Provider;
      rate: SharedRateLimit | null;
      clock: Clock;
      log: Logger;
    },
    private readonly opts: SenderOptions,
  ) {}

  /** One pass; returns how many deliveries it handled (0: nothing due). */
  async runOnce(): Promise<number> {
    const { deliveries, schedule, clock } = this.deps;
    const now = clock.now();
    const ready = await deliveries.ready(now, this.opts.batch);
    if (ready.length === 0) return 0;
    const won = await schedule.claim(ready.map((d) => `send:${d._id}:${d.attempts + 1}`), this.opts.owner, now);
    const mine = ready.filter((d) => won.has(`send:${d._id}:${d.attempts + 1}`));
    if (mine.length === 0) return 0;

    const { toSend, closed } = await this.recheck(mine);
    if (closed.length) await deliveries.record(closed, now);
    await deliveries.markSending(toSend, now);
    const outcomes = await this.callProvider(toSend);
    await deliveries.record(outcomes, clock.now());
    return mine.length;
  }

  /** Consent, number and the org's switch, as they are now. A changed number is used as it is now. */
  private async recheck(docs: DeliveryDoc[]): Promise<{ toSend: DeliveryDoc[]; closed: Outcome[] }> {
    const toSend: DeliveryDoc[] = [];
    const closed: Outcome[] = [];
    const byOrg = new Map<string, DeliveryDoc[]>();
    for (const d of docs) byOrg.set(d.orgId, [...(byOrg.get(d.orgId) ?? []), d]);
    for (const [orgId, group] of byOrg) {
      const settings = await this.deps.settings.get(orgId);
      const recipients = await this.deps.recipients.forPeople(orgId, [...new Set(group.map((d) => d.personId))]);
      for (const d of group) {
        const recipient = recipients.get(d.personId);
        const why = blocker(recipient, settings);
        if (why) closed.push({ id: d._id, kind: 'closed', status: 'skipped', reason: `${why} at send time` });
        else toSend.push({ ...d, to: recipient!.phoneE164, from: settings.senderId });
      }
    }
    return { toSend, closed };
  }

  private async callProvider(docs: DeliveryDoc[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const deadline = Date.now() + this.opts.maxBatchMs;
    let next = 0;
    const worker = async () => {
      while (next < docs.length) {
        const d = docs[next++];
        if (Date.now() > deadline) {
          outcomes.push({ id: d._id, kind: 'retry', retryAt: this.deps.clock.now(), error: { message: 'batch time over; sent in the next pass', transient: true } });
          continue;
        }
        outcomes.push(await this.sendOne(d));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, docs.length) }, worker));
    return outcomes;
  }

  private async sendOne(d: DeliveryDoc): Promise<Outcome> {
    const attempt = d.attempts + 1;
    try {
      if (this.deps.rate && this.opts.ratePerSecond > 0) {
        await this.deps.rate.take(`sms:${d.from}`, d.segments, this.opts.ratePerSecond);
      }
      const accepted = await this.deps.provider.send({
        deliveryId: d._id,
        channel: 'sms',
        to: d.to!,
        from: d.from!,
        body: d.content!,
      });
      return { id: d._id, kind: 'accepted', status: acceptedStatus(accepted.status), provider: this.deps.provider.name, providerId: accepted.providerId };
    } catch (err) {
      const e = err instanceof ProviderError ? err : new ProviderError((err as Error).message, true);
      if (e.transient && AMBIGUOUS.has(e.code ?? '')) {
        // The request may have reached the provider: resending now could send twice. The row stays
        // 'sending' and the reconciler asks the provider after STUCK_AFTER_MS.
        this.deps.log.warn({ delivery: d._id, attempt, code: e.code }, 'no answer from the provider; left to the reconciler');
        return { id: d._id, kind: 'unknown' };
      }
      const error = { ...(e.code ? { code: e.code } : {}), message: e.message, transient: e.transient };
      if (!e.transient || attempt >= this.opts.maxAttempts) {
        return { id: d._id, kind: 'failed', error: { ...error, message: e.transient ? `${e.message} (gave up after ${attempt} attempts)` : e.message } };
      }
      const retryAt = new Date(this.deps.clock.now().getTime() + retryDelayMs(attempt, this.opts.retryBaseMs));
      this.deps.log.warn({ delivery: d._id, attempt, code: e.code }, 'transient provider error, will retry');
      return { id: d._id, kind: 'retry', retryAt, error: { ...error, transient: true } };
    }
  }
}
