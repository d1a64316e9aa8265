import { randomUUID } from 'node:crypto';
import { chunks, conflict, validationError, type AuthContext, type Outbox } from '@relais/shared';
import type { HandOverInput } from './api';
import type { MailItems } from './data/mailItems';
import { handOverEvent, selectForHandOver, toMailItem, type HandOver } from './domain/mail';

/** Mail handed over to the person or their proxy, with one `mail.handedOver` per group of items updated together. */
export class HandOvers {
  constructor(
    private readonly items: MailItems,
    private readonly outbox: Outbox,
    /** Items per update (and per event). */
    private readonly batch: number,
  ) {}

  /** Hands over the requested items, or all the person's pending mail when none are named. */
  async handOver(input: HandOverInput, auth: AuthContext) {
    const pending = await this.items.pendingForPerson(auth.orgId, input.personId);
    const selection = selectForHandOver(pending, input.mailItemIds);
    if (!selection.ok) {
      throw validationError(`These items are not pending mail of this person: ${selection.unknown.join(', ')}`, [
        { path: 'mailItemIds', message: `not pending for this person: ${selection.unknown.join(', ')}` },
      ]);
    }
    if (selection.ids.length === 0) throw conflict('This person has no pending mail to hand over.');
    const handOver: HandOver = {
      at: new Date(),
      by: auth.userId,
      to: input.to,
      ...(input.proxyName ? { proxyName: input.proxyName } : {}),
    };
    const groups = chunks(selection.ids, this.batch).map((ids) => ({
      ids,
      event: handOverEvent(auth, input.personId, ids, handOver, randomUUID()),
    }));
    await this.outbox.write(
      groups.map((g) => g.event),
      selection.ids,
      async () => ({ result: undefined, applied: await this.items.markHandedOver(auth.orgId, groups, handOver) }),
    );
    const updated = await this.items.byIds(auth.orgId, selection.ids);
    return { personId: input.personId, handedOver: updated.map(toMailItem) };
  }
}
