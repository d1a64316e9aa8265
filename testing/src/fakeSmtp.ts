import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender and recipients, as given in MAIL FROM and RCPT TO. */
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

type Stage = 'rcpt' | 'data';

/** A local SMTP server that keeps what it receives and refuses on demand. */
export class FakeSmtp {
  readonly received: ReceivedMail[] = [];
  private readonly rejections: { code: number; message: string; stage: Stage }[] = [];
  private server!: SMTPServer;
  port = 0;

  static async start(): Promise<FakeSmtp> {
    const fake = new FakeSmtp();
    fake.server = new SMTPServer({
      authOptional: true,
      // Plain SMTP: advertising STARTTLS would make nodemailer upgrade onto a self-signed certificate.
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (_address, _session, callback) => callback(fake.rejection('rcpt')),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const refused = fake.rejection('data');
          if (refused) return callback(refused);
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
              fake.received.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw, parsed });
              callback();
            },
            (err: Error) => callback(err),
          );
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, '127.0.0.1', () => resolve());
    });
    fake.port = (fake.server.server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /**
   * The next `n` messages are refused with this reply code: at RCPT TO (the recipient) or after
   * DATA (the message), 4xx meaning "try later", 5xx "never".
   */
  rejectNext(n: number, code: number, opts: { message?: string; stage?: Stage } = {}): void {
    for (let i = 0; i < n; i++) this.rejections.push({ code, message: opts.message ?? `Simulated ${code} refusal`, stage: opts.stage ?? 'rcpt' });
  }

  private rejection(stage: Stage): Error | null {
    if (this.rejections[0]?.stage !== stage) return null;
    const { code, message } = this.rejections.shift()!;
    return Object.assign(new Error(message), { responseCode: code });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
