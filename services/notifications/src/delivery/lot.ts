import type { DeliveryChannel } from '../contract/vocabulary';
import type { DeliveryDoc, Outcome } from './status';

/**
 * What the sender needs of a delivery to send it. `type` tells whether the send-time re-check
 * follows the person's SMS consent (see followsConsent); absent from payloads written before it was carried.
 */
/** What a lot sends of a delivery. `channel` absent (payloads written before e-mail): an SMS. */
export type SendItem = Pick<DeliveryDoc, '_id' | 'personId' | 'to' | 'from' | 'content' | 'segments'> &
  Partial<Pick<DeliveryDoc, 'type' | 'channel' | 'subject' | 'mail'>>;

/**
 * A send lot: deliveries of one org due at the same time, claimed and sent together. Its
 * deliveries point to it (`DeliveryDoc.lot`). A lot the scheduler writes also carries what its
 * first round sends (`payload`): the rows are written before the lot and nothing moves them before
 * that round, so the sender reads them with the lot instead of searching the rows. Any later round
 * (a retry, a reopened lot) reads the rows, so a delivery moved to another lot or closed meanwhile is
 * never sent from the old one; cancelling a delivery of a lot drops its payload first.
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
  /** The first round's deliveries (SendItem[]) as one JSON string; read apart from the lot (see SendLots.payload). */
  payload?: string | null;
}

/** The channel a lot's item goes by (absent from payloads written before e-mail: an SMS). */
export const channelOf = (d: SendItem): DeliveryChannel => d.channel ?? 'sms';

export const sendItem = (d: DeliveryDoc): SendItem => ({
  _id: d._id,
  personId: d.personId,
  type: d.type,
  to: d.to,
  from: d.from,
  content: d.content,
  segments: d.segments,
  ...(d.channel === 'email' ? { channel: d.channel, subject: d.subject, ...(d.mail ? { mail: d.mail } : {}) } : {}),
});

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
 * A slot's first lots hold an eighth, a quarter, then half of the lot size (never fewer than 50,
 * below which a smaller lot gains nothing): the first messages go out while the rest are written.
 */
const RAMP = [8, 4, 2];
const RAMP_MIN = 50;

/**
 * Puts the deliveries still to send (status pending) into lots of `size` (the first ones smaller,
 * see RAMP), in id order so that the same input gives the same lots when a slot is processed
 * again. Closed ones get no lot. Pure.
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
  for (let i = 0, k = 0; i < toSend.length; k++) {
    const part = toSend.slice(i, i + (k < RAMP.length ? Math.min(size, Math.max(RAMP_MIN, Math.ceil(size / RAMP[k]))) : size));
    i += part.length;
    const lot = newLot(
      `${prefix}:${k}`,
      orgId,
      part.reduce((min, d) => (d.dueAt < min ? d.dueAt : min), part[0].dueAt),
      now,
      { checkedAt },
    );
    lots.push(lot);
    for (const d of part) lotOf.set(d._id, lot._id);
  }
  return { docs: docs.map((d) => ({ ...d, lot: lotOf.get(d._id) ?? null })), lots };
}

/**
 * The lots that an attempt's outcomes move deliveries to, due when they go: a retry at its time, an
 * unanswered call after `stuckAfterMs` (asked about first), a deferral at once. Pure.
 */
export function followUpLots(lot: LotDoc, outcomes: readonly Outcome[], at: Date, stuckAfterMs: number): LotDoc[] {
  const out = new Map<string, LotDoc>();
  const add = (id: string, dueAt: Date, more: Parameters<typeof newLot>[4]) => {
    const known = out.get(id);
    if (!known) out.set(id, newLot(id, lot.orgId, dueAt, at, { checkedAt: lot.checkedAt, ...more }));
    else if (known.dueAt < dueAt) known.dueAt = dueAt;
  };
  for (const o of outcomes) {
    if (o.kind === 'retry') add(o.toLot, o.retryAt, { attempt: lot.attempt + 1 });
    else if (o.kind === 'unknown') add(o.toLot, new Date(at.getTime() + stuckAfterMs), { attempt: lot.attempt, recover: true });
    else if (o.kind === 'deferred') add(o.toLot, at, { attempt: lot.attempt, recover: lot.recover });
  }
  return [...out.values()];
}
