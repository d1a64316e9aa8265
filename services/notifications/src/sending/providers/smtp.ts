import nodemailer from 'nodemailer';
import { ProviderError, type Accepted, type OutgoingMessage, type Provider } from './provider';

export interface SmtpEmailOptions {
  /** smtp://user:pass@host:587 or smtps://host:465 (query parameters are nodemailer options). */
  url: string;
  /** Used when a message has no From of its own. */
  from?: string;
  maxConnections?: number;
  /** Connection, greeting and socket inactivity timeouts. */
  timeoutMs?: number;
}

// Failures before or outside an SMTP reply that another attempt may not meet.
const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ETLS', 'EPROXY', 'ECONNREFUSED', 'ECONNRESET']);

/** E-mail through an SMTP relay, over a pool of kept-open connections. */
export class SmtpEmailProvider implements Provider {
  readonly name = 'smtp';
  readonly channel = 'email' as const;
  private readonly transport;
  private readonly from?: string;

  constructor(opts: SmtpEmailOptions) {
    const timeout = opts.timeoutMs ?? 30_000;
    this.transport = nodemailer.createTransport({
      pool: true,
      url: opts.url,
      maxConnections: opts.maxConnections ?? 5,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    this.from = opts.from;
  }

  async send(message: OutgoingMessage): Promise<Accepted> {
    if (message.channel !== 'email') throw new ProviderError(`SMTP sends e-mail, not ${message.channel}`, false);
    try {
      const info = await this.transport.sendMail({
        from: message.from || this.from,
        to: message.to,
        subject: message.subject ?? '',
        text: message.body,
        // Ties a bounce or a support request back to the delivery.
        headers: { 'X-Relais-Delivery': message.deliveryId },
        ...threading(message),
      });
      return { providerId: info.messageId, status: 'sent' };
    } catch (err) {
      throw smtpError(err);
    }
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * The Message-ID a reply will name, and the address replies go to: also the envelope sender, so
 * that a bounce comes back to the same listener as a reply.
 */
function threading({ mail, to }: OutgoingMessage) {
  if (!mail) return {};
  return {
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
    ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo, references: [mail.inReplyTo] } : {}),
    ...(mail.replyTo ? { replyTo: mail.replyTo, envelope: { from: mail.replyTo, to } } : {}),
  };
}

/**
 * An SMTP refusal as a ProviderError: 4xx replies are transient and 5xx permanent (nodemailer's
 * `permanent` flag follows RFC 5321, 503 "bad sequence" excepted); a failure without a reply
 * (connection, timeout, TLS) is transient.
 */
export function smtpError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { responseCode?: number; permanent?: boolean; code?: string; message?: string; response?: string };
  if (typeof e?.responseCode === 'number') {
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    return new ProviderError(`SMTP server answered ${e.response ?? e.responseCode}`, !permanent, String(e.responseCode));
  }
  const transient = e?.code === undefined || CONNECTION_CODES.has(e.code);
  return new ProviderError(`SMTP send failed: ${e?.message ?? String(err)}`, transient, e?.code);
}
