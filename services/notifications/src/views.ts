import type { DeliveryDoc } from './domain/deliveries';
import { SMS_KIND_LABELS } from './domain/templates';

/** A delivery as the history and the ops list show it (seed 001: date, status, type, content). */
export function toDelivery(d: DeliveryDoc) {
  return {
    id: d._id,
    personId: d.personId,
    date: d.dueAt.toISOString(),
    status: d.status,
    type: d.type,
    typeLabel: SMS_KIND_LABELS[d.type],
    content: d.content,
    encoding: d.encoding,
    segments: d.segments,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.error ? { error: { ...(d.error.code ? { code: d.error.code } : {}), message: d.error.message } } : {}),
    attempts: d.attempts,
    events: d.events.map((e) => ({ status: e.status, at: new Date(e.at).toISOString(), ...(e.detail ? { detail: e.detail } : {}) })),
  };
}

export const encodeCursor = (d: DeliveryDoc) => Buffer.from(JSON.stringify([d.dueAt.toISOString(), d._id])).toString('base64url');

export function decodeCursor(cursor: string): { dueAt: Date; id: string } | null {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, string];
    const dueAt = new Date(at);
    return typeof id === 'string' && !Number.isNaN(dueAt.getTime()) ? { dueAt, id } : null;
  } catch {
    return null;
  }
}
