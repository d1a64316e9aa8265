import { randomUUID } from 'node:crypto';
import { createLogger } from '@relais/shared';
import type { Accepted, Channel, OutgoingMessage, Provider, ProviderMessageState } from './provider';

export interface LineLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface LoggedMessage extends OutgoingMessage {
  providerId: string;
  at: Date;
}

/**
 * Development provider: keeps the last messages in memory (for a test or a developer to look
 * at) and logs one line per message without its recipient or text, which are personal data.
 */
export class LogProvider implements Provider {
  readonly name = 'log';
  private readonly recent: LoggedMessage[] = [];
  private readonly capacity: number;
  private readonly logger: LineLogger;

  constructor(
    readonly channel: Channel,
    opts: { capacity?: number; logger?: LineLogger } = {},
  ) {
    this.capacity = opts.capacity ?? 1000;
    this.logger = opts.logger ?? createLogger('notifications', process.env.LOG_LEVEL ?? 'info');
  }

  /** The messages kept, oldest first. */
  get messages(): readonly LoggedMessage[] {
    return this.recent;
  }

  send(message: OutgoingMessage): Promise<Accepted> {
    const providerId = `log-${randomUUID()}`;
    this.recent.push({ ...message, providerId, at: new Date() });
    if (this.recent.length > this.capacity) this.recent.splice(0, this.recent.length - this.capacity);
    this.logger.info({ delivery: message.deliveryId, channel: message.channel, length: message.body.length, providerId }, 'message not sent (log provider)');
    return Promise.resolve({ providerId, status: 'sent' });
  }

  fetch(providerId: string): Promise<ProviderMessageState | null> {
    return Promise.resolve(this.recent.some((m) => m.providerId === providerId) ? { providerId, status: 'sent' } : null);
  }

  findSent(query: { to: string; body: string; since: Date }): Promise<ProviderMessageState | null> {
    const hit = this.recent.findLast((m) => m.to === query.to && m.body === query.body && m.at >= query.since);
    return Promise.resolve(hit ? { providerId: hit.providerId, status: 'sent' } : null);
  }
}
