import { randomUUID } from 'node:crypto';
import { eventContracts, type Envelope, type EventData, type EventType } from './contracts';

/** Builds an envelope, validating the payload against its contract. */
export function makeEnvelope<T extends EventType>(type: T, orgId: string, data: EventData<T>, opts: { id?: string; occurredAt?: Date } = {}): Envelope<T> {
  const parsed = eventContracts[type].parse(data) as EventData<T>;
  return {
    id: opts.id ?? randomUUID(),
    type,
    orgId,
    occurredAt: (opts.occurredAt ?? new Date()).toISOString(),
    data: parsed,
  };
}

/** Decodes an envelope received from JetStream; throws on anything that is not a valid envelope. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const raw = JSON.parse(Buffer.from(bytes).toString('utf8')) as Envelope;
  if (!raw || typeof raw.id !== 'string' || typeof raw.orgId !== 'string' || !(raw.type in eventContracts)) {
    throw new Error('not a Relais event envelope');
  }
  const data = eventContracts[raw.type].parse(raw.data);
  return { ...raw, data };
}
