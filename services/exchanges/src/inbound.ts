import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '@relais/shared';
import type { Inbox } from './inbox';

/**
 * The inbound SMTP listener: takes e-mails for the exchanges' domain (replies, bounces) from an MTA
 * or a relay (Mailpit, Postfix), and answers 250 only once the e-mail is recorded. Anything that
 * fails on the way is a 451: the sending server keeps the e-mail and tries again.
 */
export class InboundListener {
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(opts: { host: string; port: number; domain: string; maxBytes: number; inbox: Inbox; log: Logger }): Promise<InboundListener> {
    const domain = opts.domain.toLowerCase();
    const server = new SMTPServer({
      authOptional: true,
      // Relays hand mail over on a private network; TLS is the edge MTA's (see docs/architecture.md).
      disabledCommands: ['STARTTLS', 'AUTH'],
      size: opts.maxBytes,
      logger: false,
      banner: 'Relais exchanges',
      onRcptTo(address, _session, callback) {
        const at = address.address.lastIndexOf('@');
        if (at < 0 || address.address.slice(at + 1).toLowerCase() !== domain) {
          return callback(Object.assign(new Error(`No mailbox here for ${address.address}`), { responseCode: 550 }));
        }
        callback();
      },
      onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (stream.sizeExceeded) return callback(Object.assign(new Error('Message too large'), { responseCode: 552 }));
          const to = session.envelope.rcptTo.map((r) => r.address);
          simpleParser(Buffer.concat(chunks))
            .then((mail) => opts.inbox.receive(mail, to))
            .then((outcome) => {
              if (outcome.kind === 'refused') return callback(Object.assign(new Error(outcome.message), { responseCode: outcome.code }));
              opts.log.info({ outcome: outcome.kind, exchange: outcome.exchangeId }, 'inbound e-mail');
              callback();
            })
            .catch((err: unknown) => {
              opts.log.warn({ error: (err as Error).message }, 'inbound e-mail not recorded; the sender will retry');
              callback(Object.assign(new Error('Not recorded now; try again later'), { responseCode: 451 }));
            });
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
    server.on('error', (err: Error) => opts.log.warn({ error: err.message }, 'inbound SMTP listener'));
    return new InboundListener(server, (server.server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
