import { randomUUID } from 'node:crypto';
import type { ServiceSchema } from 'moleculer';
import type { Connection } from 'mongoose';
import { DurableEvents, connectDatabase, loadConfig, makeEnvelope, type BaseConfig, type Envelope, type MailKind, type Subscription } from '@relais/shared';
import { eventually } from './nodes';
import { notificationsConfigSchema, type NotificationsConfig } from '@relais/notifications/config';
import { ProviderError, type Accepted, type OutgoingMessage, type Provider, type ProviderMessageState } from '@relais/notifications/providers';

export { ProviderError };

/** The notifications config of a test: the test's base config plus fast loops. */
export function notificationsTestConfig(base: BaseConfig, overrides: Record<string, string> = {}): NotificationsConfig {
  return loadConfig(notificationsConfigSchema, {
    ...Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v === undefined ? undefined : String(v)])),
    SCHEDULER_INTERVAL_MS: '100',
    SEND_INTERVAL_MS: '50',
    SETTINGS_CACHE_MS: '0',
    ...overrides,
  });
}

/**
 * Stands in for the contacts service in another broker: consumes delivery.outcome as its durable
 * consumer does, into `outcomes`. `config` is read when the broker starts.
 */
export function outcomeConsumer(config: () => BaseConfig, outcomes: Envelope<'delivery.outcome'>[]): ServiceSchema {
  let bus: DurableEvents | undefined;
  let db: Connection | undefined;
  let subscription: Subscription | undefined;
  return {
    name: 'contacts',
    async started() {
      const c = config();
      bus = await DurableEvents.connect({ natsUrl: c.NATS_URL, namespace: c.RELAIS_NAMESPACE, name: 'contacts' });
      db = await connectDatabase(c, 'contacts');
      subscription = await bus.consume({
        group: 'contacts',
        type: 'delivery.outcome',
        db,
        handle: (evs) => {
          outcomes.push(...evs);
          return Promise.resolve();
        },
      });
    },
    async stopped() {
      await subscription?.stop();
      await bus?.close();
      await db?.close();
    },
  };
}

/** A provider that keeps what it is asked to send, in memory. */
export class MemoryProvider implements Provider {
  readonly name = 'memory';
  readonly channel = 'sms' as const;
  readonly sent: (OutgoingMessage & { providerId: string; at: Date })[] = [];
  readonly refused: { to: string; error: ProviderError }[] = [];
  private failures: ProviderError[] = [];

  /** The next sends fail with these errors, in order. */
  failNext(...errors: ProviderError[]): void {
    this.failures.push(...errors);
  }

  send(message: OutgoingMessage): Promise<Accepted> {
    const failure = this.failures.shift();
    if (failure) {
      this.refused.push({ to: message.to, error: failure });
      return Promise.reject(failure);
    }
    // Unique across providers: tests share a database, where message ids are keys.
    const providerId = `MEM${randomUUID()}`;
    this.sent.push({ ...message, providerId, at: new Date() });
    return Promise.resolve({ providerId, status: 'queued' });
  }

  fetch(providerId: string): Promise<ProviderMessageState | null> {
    return Promise.resolve(this.sent.some((m) => m.providerId === providerId) ? { providerId, status: 'sent' } : null);
  }

  findSent(query: { to: string; body: string; since: Date }): Promise<ProviderMessageState | null> {
    const found = this.sent.find((m) => m.to === query.to && m.body === query.body && m.at >= query.since);
    return Promise.resolve(found ? { providerId: found.providerId, status: 'queued' } : null);
  }
}

/** A clock the test moves. */
export class TestClock {
  constructor(private current: Date) {}
  now = () => new Date(this.current);
  set(at: Date | string): void {
    this.current = new Date(at);
  }
}

/** What the domiciliation and mail services would publish for people who accepted SMS and got one item each. */
export async function publishPeopleWithMail(events: DurableEvents, orgId: string, phones: string[], kind: MailKind, at: string): Promise<void> {
  await events.publish(
    phones.flatMap((phoneE164) => {
      const personId = randomUUID();
      return [
        makeEnvelope('domiciliation.smsConsentChanged', orgId, { personId, consent: true, phoneE164, region: 'FR', changedAt: at, changedBy: 'u' }),
        makeEnvelope('mail.registered', orgId, { mailItemId: randomUUID(), personId, kind, quantity: 1, registeredAt: at, registeredBy: 'u' }),
      ];
    }),
  );
}

/** Waits until the notifications service has applied those events for `people` persons. */
export async function waitUntilApplied(config: BaseConfig, orgId: string, people: number, timeoutMs: number): Promise<void> {
  const db = await connectDatabase(config, 'notifications');
  try {
    await eventually(
      async () =>
        (await db.collection('pending_mail').countDocuments({ orgId })) === people &&
        (await db.collection('recipient_consents').countDocuments({ orgId })) === people,
      { timeoutMs, what: 'events applied' },
    );
  } finally {
    await db.close();
  }
}
