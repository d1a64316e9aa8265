import { randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { derivedId } from '@relais/shared';
import type { Exchanges } from './data/exchanges';
import type { InterventionRequests } from './data/requests';
import type { MailFiles } from './data/mailFiles';
import type { SettingsRepo } from './data/settings';
import { assigneeParty, clientContacts, contactParty, type Call } from './directory';
import { defaultType } from './domain/settings';
import type { ExchangeDoc, Party } from './domain/exchanges';
import type { RequestDoc } from './domain/requests';
import { bouncedMessageId, threadOf } from './domain/threading';
import type { Recording } from './recording';

/** What became of an inbound e-mail: recorded, a bounce applied, or refused (the SMTP answer says why). */
export type InboxOutcome =
  { kind: 'recorded'; exchangeId: string } | { kind: 'bounce'; exchangeId: string | null } | { kind: 'refused'; code: number; message: string };

/** How a call is made as the platform in an org (no one is signed in when an e-mail comes in). */
export type SystemCall = (orgId: string) => Call;

/** The longest detail an e-mail's text is kept as (the API's own limit for a recorded exchange). */
const DETAIL_MAX = 10_000;

const isReport = (m: ParsedMail) => {
  const type = m.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  return type?.value === 'multipart/report' && type.params?.['report-type'] === 'delivery-status';
};

const addressesOf = (m: ParsedMail, field: 'to' | 'cc'): string[] => {
  const v = m[field];
  const list = Array.isArray(v) ? v : v ? [v] : [];
  return list.flatMap((a) => a.value.map((x) => x.address ?? '')).filter(Boolean);
};

/**
 * E-mails that come back (seed 004's replies): a reply is recorded as a received exchange on the
 * request of the e-mail it answers, with its attachments; a bounce marks the e-mail it returns as
 * bounced. Threaded by Message-ID (In-Reply-To, References), else by the request's reply address.
 */
export class Inbox {
  constructor(
    private readonly d: {
      requests: InterventionRequests;
      exchanges: Exchanges;
      files: MailFiles;
      settings: SettingsRepo;
      recording: Recording;
      call: SystemCall;
      mailDomain: string;
    },
  ) {}

  async receive(mail: ParsedMail, envelopeTo: readonly string[]): Promise<InboxOutcome> {
    if (isReport(mail)) return this.bounce(mail);
    const recipients = [...envelopeTo, ...addressesOf(mail, 'to'), ...addressesOf(mail, 'cc')];
    const references = typeof mail.references === 'string' ? [mail.references] : (mail.references ?? []);
    const thread = threadOf({ inReplyTo: mail.inReplyTo, references, recipients }, this.d.mailDomain);
    const found = thread && (await this.locate(thread));
    if (!found) return { kind: 'refused', code: 550, message: 'No conversation of this address: the e-mail answers no request' };
    const { request: r, answered } = found;

    // The same Message-ID relayed twice is the same exchange.
    const id = mail.messageId ? derivedId(r.orgId, 'inbound', mail.messageId) : randomUUID();
    const earlier = await this.d.exchanges.get(r.orgId, id);
    if (earlier) return { kind: 'recorded', exchangeId: earlier._id };

    const call = this.d.call(r.orgId);
    const from = mail.from?.value[0];
    const address = (from?.address ?? '').toLowerCase();
    const contact = (await clientContacts(call, r.clientId, null)).find((c) => c.email?.toLowerCase() === address);
    const sentBy: Party = contact ? contactParty(contact) : { kind: 'external', email: address || 'unknown', ...(from?.name ? { name: from.name } : {}) };
    const receivedBy = answered?.sentBy.kind === 'user' ? answered.sentBy : await assigneeParty(call, r);
    const type = defaultType(await this.d.settings.of(r.orgId));
    const text = (mail.text ?? '').trim();
    const now = new Date();
    const attachments = [];
    for (const a of mail.attachments) {
      attachments.push(
        await this.d.files.store(r.orgId, id, {
          filename: a.filename ?? 'attachment',
          contentType: a.contentType || 'application/octet-stream',
          content: a.content,
        }),
      );
    }
    const x: ExchangeDoc = {
      _id: id,
      orgId: r.orgId,
      requestId: r._id,
      direction: 'received',
      type,
      sentBy,
      receivedBy,
      email: address || null,
      subject: mail.subject ? mail.subject.slice(0, 200) : null,
      detail: text ? text.slice(0, DETAIL_MAX) : '(no text)',
      occurredAt: mail.date && mail.date.getTime() <= now.getTime() ? mail.date : now,
      origin: 'email',
      visibility: 'client',
      createdBy: 'email',
      createdAt: now,
      edits: [],
      emailDelivery: null,
      inboundMessageId: mail.messageId ?? null,
      attachments,
      deleted: null,
    };
    const stored = await this.d.recording.store(x, r);
    return { kind: 'recorded', exchangeId: stored._id };
  }

  /** The request an e-mail belongs to, and the exchange it answers when it names one of ours. */
  private async locate(thread: NonNullable<ReturnType<typeof threadOf>>): Promise<{ request: RequestDoc; answered: ExchangeDoc | null } | null> {
    if (thread.kind === 'exchange') {
      const x = await this.d.exchanges.get(thread.orgId, thread.exchangeId);
      if (!x) return null;
      const request = await this.d.requests.get(x.orgId, x.requestId);
      return request && { request, answered: x };
    }
    const request = await this.d.requests.locate(thread.requestId);
    return request && { request, answered: null };
  }

  /** A delivery status report: the e-mail it returns is bounced, with the report's reason. */
  private async bounce(mail: ParsedMail): Promise<InboxOutcome> {
    const returned = mail.attachments.find((a) => /^(message\/rfc822|text\/rfc822-headers|message\/rfc822-headers)$/i.test(a.contentType));
    const messageId = returned ? bouncedMessageId(returned.content.toString('utf8')) : null;
    const thread = messageId ? threadOf({ inReplyTo: messageId, recipients: [] }, this.d.mailDomain) : null;
    if (thread?.kind !== 'exchange') return { kind: 'bounce', exchangeId: null };
    // mailparser reads an inline delivery-status part as text; some servers attach it.
    const status = mail.attachments.find((a) => /^message\/(global-)?delivery-status$/i.test(a.contentType))?.content.toString('utf8') ?? mail.text ?? '';
    const diagnostic = /^diagnostic-code:\s*(.+)$/im.exec(status)?.[1]?.trim() ?? /^status:\s*(\S+)/im.exec(status)?.[1];
    const moved = await this.d.exchanges.setEmailStatus(
      thread.orgId,
      thread.exchangeId,
      'bounced',
      new Date(),
      diagnostic ? `bounced: ${diagnostic}` : 'bounced',
    );
    return { kind: 'bounce', exchangeId: moved ? thread.exchangeId : null };
  }
}
