import type { Clock } from '../clock';
import type { Deliveries } from '../data/deliveries';
import type { SendLots } from '../data/lots';
import { CONSENT_CHANGES_KEPT_MS } from '../data/recipients';
import type { Schedule } from '../data/schedule';
import { newLot } from '../domain/lots';
import type { Provider } from '../providers/provider';

/**
 * Settles what a crash or a lost callback left open: lots whose sender died (reopened; their
 * deliveries are looked up at the provider before any new call), deliveries whose lot is missing
 * or already closed (a crash between two writes), and accepted messages that never reached a
 * final status (asks the provider for it).
 */
export class Reconciler {
  constructor(
    private readonly deps: { deliveries: Deliveries; lots: SendLots; schedule: Schedule; provider: Provider; clock: Clock },
    private readonly opts: { owner: string; stuckAfterMs: number; unfinishedAfterMs: number },
  ) {}

  async runOnce(): Promise<void> {
    const now = this.deps.clock.now();
    const before = new Date(now.getTime() - this.opts.stuckAfterMs);
    await this.reopenAbandonedLots(now, before);
    await this.relotStrays(now, before);
    await this.askUnfinished(now);
  }

  /** Ready lots claimed before `before`: their sender died (a live one finishes a lot well within that delay). */
  private async reopenAbandonedLots(now: Date, before: Date): Promise<void> {
    const { lots, schedule } = this.deps;
    const overdue = await lots.overdue(before, 200);
    if (overdue.length === 0) return;
    const abandoned = await schedule.claimedBefore(overdue.map((l) => `send:${l._id}:${l.round}`), before);
    await this.reopen(overdue.filter((l) => abandoned.has(`send:${l._id}:${l.round}`)), now);
  }

  private async reopen(toReopen: { _id: string; round: number }[], now: Date): Promise<void> {
    const key = (l: { _id: string; round: number }) => `reopen:${l._id}:${l.round}`;
    const won = await this.deps.schedule.claim(toReopen.map(key), this.opts.owner, now);
    for (const lot of toReopen.filter((l) => won.has(key(l)))) await this.deps.lots.reopen(lot);
  }

  /** Deliveries still to send long after their last change whose lot is missing, closed, or was never set. */
  private async relotStrays(now: Date, before: Date): Promise<void> {
    const { deliveries, lots } = this.deps;
    const unsent = await deliveries.unsent(before, 500);
    if (unsent.length === 0) return;
    const known = await lots.byIds([...new Set(unsent.flatMap((d) => (d.lot ? [d.lot] : [])))]);
    const checkedAt = new Date(now.getTime() - CONSENT_CHANGES_KEPT_MS);
    for (const group of Map.groupBy(unsent, (d) => d.lot ?? `:${d.orgId}`).values()) {
      const first = group[0];
      const lot = first.lot ? known.get(first.lot) : undefined;
      if (lot?.state === 'ready') continue; // a backlog, or a lot the pass above reopens
      if (lot) {
        await this.reopen([lot], now);
        continue;
      }
      // Whether a call was made is unknown: the new lot asks the provider first.
      const attempt = Math.max(...group.map((d) => d.attempts)) + 1;
      const id = first.lot ?? `recovered:${first._id}`;
      await lots.insertNew([newLot(id, first.orgId, now, now, { attempt, recover: true, checkedAt })]);
      if (!first.lot) await deliveries.moveUnlotted(group.map((d) => d._id), id, now);
    }
  }

  private async askUnfinished(now: Date): Promise<void> {
    const { deliveries, provider } = this.deps;
    if (!provider.fetch) return;
    const unfinished = await deliveries.unfinished(new Date(now.getTime() - this.opts.unfinishedAfterMs), 100);
    if (unfinished.length === 0) return;
    const ids = await deliveries.providerIds(unfinished.map((d) => d._id));
    for (const providerId of ids.values()) {
      const state = await provider.fetch(providerId).catch(() => null);
      if (state) await deliveries.providerStatus(state, state.status, now);
    }
  }
}
