import type { Clock } from '../clock';
import type { Deliveries, Outcome } from '../data/deliveries';
import type { Schedule } from '../data/schedule';
import { acceptedStatus } from '../domain/deliveries';
import type { Provider } from '../providers/provider';

/**
 * Settles what a crash or a lost callback left open: provider calls that never got their
 * answer recorded (asks the provider whether the message went out, else lets the sender
 * retry) and accepted messages that never reached a final status (asks for their status).
 */
export class Reconciler {
  constructor(
    private readonly deps: { deliveries: Deliveries; schedule: Schedule; provider: Provider; clock: Clock },
    private readonly opts: { owner: string; stuckAfterMs: number; unfinishedAfterMs: number },
  ) {}

  async runOnce(): Promise<void> {
    const { deliveries, schedule, provider, clock } = this.deps;
    const now = clock.now();
    const before = new Date(now.getTime() - this.opts.stuckAfterMs);
    // Claimed for sending but never marked 'sending': the claimer died before calling the provider.
    const overdue = await deliveries.overdue(before, 500);
    await schedule.releaseStale(overdue.map((d) => `send:${d._id}:${d.attempts + 1}`), before);

    const stuck = await deliveries.stuck(before, 200);
    if (stuck.length) {
      // A reconciler that died mid-way left its claim: free it after the same delay.
      await schedule.releaseStale(stuck.map((d) => `reconcile:${d._id}:${d.attempts}`), before);
      const won = await schedule.claim(stuck.map((d) => `reconcile:${d._id}:${d.attempts}`), this.opts.owner, now);
      const outcomes: Outcome[] = [];
      for (const d of stuck.filter((d) => won.has(`reconcile:${d._id}:${d.attempts}`))) {
        const since = new Date((d.calledAt ?? d.attemptStartedAt!).getTime() - 60_000);
        const found = provider.findSent && d.to && d.content ? await provider.findSent({ to: d.to, body: d.content, since }) : null;
        if (found) {
          outcomes.push({ id: d._id, kind: 'accepted', status: acceptedStatus(found.status), provider: provider.name, providerId: found.providerId });
        } else {
          // The call never reached the provider: the sender tries again now.
          outcomes.push({ id: d._id, kind: 'retry', retryAt: now, error: { message: 'no answer recorded from the provider; sending again', transient: true } });
        }
      }
      await deliveries.record(outcomes, now);
    }
    if (!provider.fetch) return;
    for (const d of await deliveries.unfinished(new Date(now.getTime() - this.opts.unfinishedAfterMs), 100)) {
      const state = d.providerId ? await provider.fetch(d.providerId).catch(() => null) : null;
      if (state) await deliveries.providerStatus(state.providerId, state.status, now, state.errorCode, state.errorMessage);
    }
  }
}
