import type { DeliveryDoc } from './deliveries';

/**
 * A send lot: deliveries of one org due at the same time, claimed and sent together. Its
 * deliveries point to it (`DeliveryDoc.lot`); the lot itself holds no copy of them, so a
 * delivery moved to another lot (a retry) or closed meanwhile is never sent from the old one.
 */
export interface LotDoc {
  _id: string;
  orgId: string;
  dueAt: Date;
  /** The provider attempt its deliveries make (1 for a slot's first send, n+1 for a retry). */
  attempt: number;
  /** Incremented each time the lot is reopened after its sender died; the claim key includes it. */
  round: number;
  /**
   * A provider call may already have happened for its deliveries (a sender died mid-lot, or the
   * provider did not answer): each one is looked up at the provider before it is sent.
   */
  recover: boolean;
  /** Consent and numbers were read at this time: changes since then are applied at send time. */
  checkedAt: Date;
  state: 'ready' | 'done';
  createdAt: Date;
  doneAt?: Date | null;
}

export const newLot = (id: string, orgId: string, dueAt: Date, at: Date, more: Partial<Pick<LotDoc, 'attempt' | 'recover' | 'checkedAt'>> = {}): LotDoc => ({
  _id: id,
  orgId,
  dueAt,
  attempt: more.attempt ?? 1,
  round: 0,
  recover: more.recover ?? false,
  checkedAt: more.checkedAt ?? at,
  state: 'ready',
  createdAt: at,
  doneAt: null,
});

/**
 * Puts the deliveries still to send (status pending) into lots of `size`, in id order so that the
 * same input gives the same lots when a slot is processed again. Closed ones get no lot. Pure.
 */
export function assignLots(
  prefix: string,
  orgId: string,
  docs: readonly DeliveryDoc[],
  size: number,
  checkedAt: Date,
  now: Date,
): { docs: DeliveryDoc[]; lots: LotDoc[] } {
  const toSend = docs.filter((d) => d.status === 'pending').sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  const lots: LotDoc[] = [];
  const lotOf = new Map<string, string>();
  for (let i = 0; i < toSend.length; i += size) {
    const part = toSend.slice(i, i + size);
    const lot = newLot(`${prefix}:${i / size}`, orgId, part.reduce((min, d) => (d.dueAt < min ? d.dueAt : min), part[0].dueAt), now, { checkedAt });
    lots.push(lot);
    for (const d of part) lotOf.set(d._id, lot._id);
  }
  return { docs: docs.map((d) => ({ ...d, lot: lotOf.get(d._id) ?? null })), lots };
}
