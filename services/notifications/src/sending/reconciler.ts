import type { Clock } from '../clock';
import { CONSENT_CHANGES_KEPT_MS } from '../planning/recipients';
import type { Claims } from './claims';
import type { DeliveryLedger } from '../delivery/ledger';
import type { Provider } from './providers/provider';

/**
 * Settles what a crash or a lost callback left open: lots whose sender died (reopened; their
 * deliveries are looked up at the provider before any new call), deliveries whose lot is missing
 * or already closed (a crash between two writes), and accepted messages that never reached a
 * final status (asks the provider for it).
 */
export class Reconciler {
  constructor(
    private readonly deps: { ledger: DeliveryLedger; claims: Claims; provider: Provider; clock: Clock },
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
    const { ledger, claims } = this.deps;
    const overdue = await ledger.overdueLots(before, 200);
    if (overdue.length === 0) return;
    const abandoned = await claims.claimedBefore(
      overdue.map((l) => `send:${l._id}:${l.round}`),
      before,
    );
    await this.reopen(
      overdue.filter((l) => abandoned.has(`send:${l._id}:${l.round}`)),
      now,
    );
  }

  private async reopen(toReopen: { _id: string; round: number }[], now: Date): Promise<void> {
    const key = (l: { _id: string; round: number }) => `reopen:${l._id}:${l.round}`;
    const won = await this.deps.claims.claim(toReopen.map(key), this.opts.owner, now);
    for (const lot of toReopen.filter((l) => won.has(key(l)))) await this.deps.ledger.reopen(lot);
  }

  /** Deliveries still to send long after their last change whose lot is missing, closed, or was never set. */
  private async relotStrays(now: Date, before: Date): Promise<void> {
    const { ledger } = this.deps;
    const checkedAt = new Date(now.getTime() - CONSENT_CHANGES_KEPT_MS);
    for (const strays of await ledger.strays(before, 500)) {
      if (strays.lot?.state === 'ready') continue; // a backlog, or a lot the pass above reopens
      if (strays.lot) await this.reopen([strays.lot], now);
      else await ledger.relot(strays, now, checkedAt);
    }
  }

  private async askUnfinished(now: Date): Promise<void> {
    const { ledger, provider } = this.deps;
    if (!provider.fetch) return;
    for (const providerId of await ledger.unfinished(new Date(now.getTime() - this.opts.unfinishedAfterMs), 100)) {
      const state = await provider.fetch(providerId).catch(() => null);
      if (state) await ledger.providerStatus(state, state.status, now);
    }
  }
}
