import {
  conflict,
  createdId,
  makeEnvelope,
  notFound,
  toProblem,
  validationError,
  type AuthContext,
  type Envelope,
  type Logger,
  type Outbox,
  type RelaisContext,
} from '@relais/shared';
import { contactDeliveryId } from '@relais/notifications/api';
import type { Exchanges } from './data/exchanges';
import type { RecipientAddresses } from './data/recipients';
import type { SettingsRepo } from './data/settings';
import type { Summaries } from './data/summaries';
import { callAs, clientContacts, collaborator, contactOf, contactParty, knownEmails, type Call, type ContactInfo } from './directory';
import {
  deletionRefusal,
  editRefusal,
  edited,
  preview,
  tombstone,
  type ExchangeChange,
  type ExchangeDirection,
  type ExchangeDoc,
  type ExchangeVisibility,
  type Party,
} from './domain/exchanges';
import { requestNumber, type RequestDoc } from './domain/requests';
import { typeRefusal, type ExchangeSettings } from './domain/settings';
import { messageIdOf, replyAddressOf } from './domain/threading';
import type { Registry } from './registry';
import { toExchangeView, toSummaryView } from './views';

/** How far ahead of now an exchange's date may be: clocks differ by a little, not by days. */
const FUTURE_SLACK_MS = 5 * 60_000;

export interface RecordInput {
  requestId: string;
  type: string;
  subject?: string;
  detail: string;
  occurredAt?: string;
  visibility: ExchangeVisibility;
  email?: string;
}
/** A message sent to the client: by a collaborator (user id) to one of the client's contacts (number). */
export type RecordSentInput = RecordInput & { sentBy?: string; receivedBy?: number };
/** A message received from the client: from one of its contacts (number) by a collaborator (user id). */
export type RecordReceivedInput = RecordInput & { sentBy?: number; receivedBy?: string };

export interface SendEmailInput {
  requestId: string;
  type: string;
  receivedBy?: number;
  to?: string;
  subject: string;
  detail: string;
  visibility: ExchangeVisibility;
}

export interface RecordingDeps {
  registry: Registry;
  exchanges: Exchanges;
  summaries: Summaries;
  settings: SettingsRepo;
  addresses: RecipientAddresses;
  outbox: Outbox;
  /** The domain of Message-IDs and reply addresses. */
  mailDomain: string;
  /** Calls as the platform in an org: the sweep hands e-mails over with nobody signed in. */
  systemCall: (orgId: string) => Call;
  log: Pick<Logger, 'warn'>;
}

/** The event that tells of a new exchange. Pure. */
export function recordedEvent(x: ExchangeDoc, r: RequestDoc): Envelope<'exchange.recorded'> {
  return makeEnvelope('exchange.recorded', x.orgId, {
    exchangeId: x._id,
    requestId: r._id,
    requestNumber: requestNumber(r.number),
    clientId: r.clientId,
    title: r.title,
    direction: x.direction,
    type: x.type,
    origin: x.origin,
    visibility: x.visibility,
    email: x.email,
    subject: x.subject,
    preview: preview(x.detail),
    assignedTo: r.assignedTo,
    team: r.team,
    createdBy: x.createdBy,
    occurredAt: x.occurredAt.toISOString(),
  });
}

/**
 * Exchanges on intervention requests (seed 004): the three actions (record a received message,
 * record a sent one, send an e-mail), edits, deletions, and what comes back of the e-mails. Every
 * new exchange is stored with its `exchange.recorded` (outbox) and recounts its request's summary.
 */
export class Recording {
  constructor(private readonly d: RecordingDeps) {}

  async history(orgId: string, requestId: string) {
    const r = await this.d.registry.require(orgId, requestId);
    const [all, settings, [{ summary }]] = await Promise.all([
      this.d.exchanges.ofRequest(orgId, r._id),
      this.d.settings.of(orgId),
      this.d.summaries.of(orgId, [r._id]),
    ]);
    return { requestId: r._id, number: requestNumber(r.number), summary: toSummaryView(summary), items: all.map((x) => toExchangeView(x, settings)) };
  }

  /** Who may send or receive an exchange of the request, with their addresses, and the seed's defaults. */
  async parties(orgId: string, requestId: string, auth: AuthContext, ctx: RelaisContext) {
    const r = await this.d.registry.require(orgId, requestId);
    const call = callAs(ctx);
    const [users, contacts, primary] = await Promise.all([
      call<{ items: { id: string; name: string; email: string }[] }>('accounts.collaborators', {}),
      clientContacts(call, r.clientId, 'clientId'),
      this.d.addresses.of(orgId, r.clientId),
    ]);
    const emailsOf = (c: ContactInfo) => knownEmails(c, primary?.email);
    const interlocutor = contacts.find((c) => c.number === r.interlocutor) ?? null;
    return {
      collaborators: users.items.map((u) => ({ userId: u.id, name: u.name, emails: [u.email] })),
      contacts: contacts.map((c) => ({ contactNumber: c.number, name: c.name, function: c.function, emails: emailsOf(c) })),
      defaults: { user: auth.userId, contactNumber: interlocutor?.number ?? null, email: interlocutor ? (emailsOf(interlocutor)[0] ?? null) : null },
    };
  }

  /** An exchange of the request, or 404. */
  async exchange(orgId: string, requestId: string, exchangeId: string): Promise<ExchangeDoc> {
    const x = await this.d.exchanges.get(orgId, exchangeId);
    if (!x || x.requestId !== requestId) throw notFound('Exchange');
    return x;
  }

  async summaries(orgId: string, requestIds: string[]) {
    const found = await this.d.summaries.of(orgId, requestIds);
    return { items: found.map(({ requestId, summary }) => ({ requestId, summary: toSummaryView(summary) })) };
  }

  async recordSent(input: RecordSentInput, auth: AuthContext, ctx: RelaisContext) {
    const { r, settings, call } = await this.prepare(input, auth, ctx);
    const contact = await this.recipient(call, r, input.receivedBy, 'receivedBy');
    const user = await collaborator(call, input.sentBy ?? auth.userId, 'sentBy');
    const email = input.email ?? (await this.defaultEmail(r, contact));
    const x = this.newExchange(ctx, auth, r, input, 'sent', { kind: 'user', ...user }, contactParty(contact), email);
    return toExchangeView(await this.store(x, r), settings);
  }

  async recordReceived(input: RecordReceivedInput, auth: AuthContext, ctx: RelaisContext) {
    const { r, settings, call } = await this.prepare(input, auth, ctx);
    const contact = await this.recipient(call, r, input.sentBy, 'sentBy');
    const user = await collaborator(call, input.receivedBy ?? auth.userId, 'receivedBy');
    const email = input.email ?? contact.email ?? null;
    const x = this.newExchange(ctx, auth, r, input, 'received', contactParty(contact), { kind: 'user', ...user }, email);
    return toExchangeView(await this.store(x, r), settings);
  }

  /**
   * Sends an e-mail through the notifications service (SMTP, with its delivery history and its
   * retries), recorded first as a sent exchange whose e-mail is `sending`: what the caller is
   * answered is stored before anything goes out, and delivery.outcome moves it to sent or failed.
   */
  async sendEmail(input: SendEmailInput, auth: AuthContext, ctx: RelaisContext) {
    const { r, settings, call } = await this.prepare(input, auth, ctx);
    const contact = await this.recipient(call, r, input.receivedBy, 'receivedBy');
    const to = input.to ?? (await this.defaultEmail(r, contact));
    if (!to) {
      throw validationError(`Invalid input: to: ${contact.name} has no e-mail address; give one`, [
        { path: 'to', message: 'is required: the contact has no e-mail address' },
      ]);
    }
    const user = await collaborator(call, auth.userId, 'sentBy');
    const x = this.newExchange(ctx, auth, r, { ...input, occurredAt: undefined }, 'sent', { kind: 'user', ...user }, contactParty(contact), to);
    const messageId = messageIdOf(auth.orgId, x._id, this.d.mailDomain);
    const withEmail: ExchangeDoc = {
      ...x,
      emailDelivery: { deliveryId: contactDeliveryId(auth.orgId, x._id), messageId, status: 'sending', updatedAt: x.createdAt },
    };
    const stored = await this.store(withEmail, r);
    if (stored.emailDelivery?.status === 'sending') await this.handOver(call, stored, r);
    return toExchangeView((await this.d.exchanges.get(auth.orgId, stored._id)) ?? stored, settings);
  }

  /**
   * Asks the notifications service to send an exchange's e-mail; the same exchange twice is one
   * delivery. A refusal (4xx) fails the e-mail, saying why; anything else (the service down, an
   * answer lost) leaves it `sending` for the sweep to hand over again: the exchange is stored, and
   * the caller is answered with it.
   */
  private async handOver(call: Call, x: ExchangeDoc, r: RequestDoc): Promise<void> {
    try {
      await call('notifications.sendContactEmail', {
        personId: r.clientId,
        to: x.email,
        subject: x.subject,
        text: x.detail,
        ref: x._id,
        mail: { messageId: x.emailDelivery!.messageId, replyTo: replyAddressOf(r._id, this.d.mailDomain) },
      });
    } catch (err) {
      // The one error mapping says which is which: a 4xx is the notifications service's refusal, a 5xx its absence.
      const problem = toProblem(err);
      if (problem.status < 500) {
        await this.d.exchanges.setEmailStatus(x.orgId, x._id, 'failed', new Date(), `not sent: ${problem.detail}`);
        return;
      }
      this.d.log.warn({ exchange: x._id, error: (err as Error).message }, 'e-mail not handed over yet; the sweep hands it over again');
    }
  }

  /** Hands over again the e-mails still `sending` after `resendAfterMs`; how many it found. */
  async resendStuck(resendAfterMs: number): Promise<number> {
    const stuck = await this.d.exchanges.stillSending(new Date(Date.now() - resendAfterMs), 100);
    for (const x of stuck) {
      const r = await this.d.registry.find(x.orgId, x.requestId);
      if (r) await this.handOver(this.d.systemCall(x.orgId), x, r);
    }
    return stuck.length;
  }

  /** Moves sent e-mails' statuses from the notifications service's delivery outcomes (ref: the exchange's id). */
  async applyOutcomes(events: readonly Envelope<'delivery.outcome'>[]): Promise<void> {
    for (const e of events) {
      const { ref, type, status, error, occurredAt } = e.data;
      if (type !== 'contact.email' || !ref) continue;
      const x = await this.d.exchanges.get(e.orgId, ref);
      if (!x?.emailDelivery) continue; // a contact action's e-mail: the contacts service's
      const why = error ? `the SMTP server refused it${error.code ? ` (${error.code})` : ''}` : undefined;
      await this.d.exchanges.setEmailStatus(e.orgId, x._id, status === 'delivered' ? 'sent' : 'failed', new Date(occurredAt), why);
    }
  }

  async edit(input: ExchangeChange & { requestId: string; exchangeId: string }, auth: AuthContext) {
    const settings = await this.d.settings.of(auth.orgId);
    if (input.type !== undefined) {
      const refusal = typeRefusal(settings, input.type);
      if (refusal) throw validationError(`Invalid input: type ${refusal}`, [{ path: 'type', message: refusal }]);
    }
    const x = await this.change(auth, input, (before) => {
      const refusal = editRefusal(before, auth);
      if (refusal) throw conflict(`This exchange cannot be edited: ${refusal}.`);
      return edited(before, input, auth.userId, new Date());
    });
    return toExchangeView(x, settings);
  }

  async remove(input: { requestId: string; exchangeId: string }, auth: AuthContext) {
    const settings = await this.d.settings.of(auth.orgId);
    const x = await this.change(auth, input, (before) => {
      const now = new Date();
      const refusal = deletionRefusal(before, auth, now, settings.deleteWindowMinutes * 60_000);
      if (refusal) throw conflict(`This exchange cannot be deleted: ${refusal}.`);
      return tombstone(before, auth, now);
    });
    return toExchangeView(x, settings);
  }

  /** Decides a change on the stored exchange and writes it over that version; decided again when another change came first. */
  private async change(auth: AuthContext, ref: { requestId: string; exchangeId: string }, decide: (x: ExchangeDoc) => ExchangeDoc): Promise<ExchangeDoc> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.exchange(auth.orgId, ref.requestId, ref.exchangeId);
      const after = decide(before);
      if (after === before) return before;
      if (await this.d.exchanges.replace(before, after)) {
        await this.recount(auth.orgId, before.requestId);
        return after;
      }
    }
    throw conflict('This exchange is being changed by someone else; try again.');
  }

  /** Stores a new exchange with its event (the same one again is found, not stored twice), then recounts its request. */
  async store(x: ExchangeDoc, r: RequestDoc): Promise<ExchangeDoc> {
    const event = recordedEvent(x, r);
    const { doc } = await this.d.outbox.writeSoon([event], [x._id], async () => {
      const res = await this.d.exchanges.insertNew(x, event);
      return { result: res, applied: res.created ? [event] : [] };
    });
    await this.recount(r.orgId, r._id);
    return doc;
  }

  async recount(orgId: string, requestId: string): Promise<void> {
    const readAt = new Date();
    await this.d.summaries.recount(orgId, requestId, await this.d.exchanges.ofRequest(orgId, requestId), readAt);
  }

  private async prepare(input: { requestId: string; type: string; occurredAt?: string }, auth: AuthContext, ctx: RelaisContext) {
    const [r, settings] = await Promise.all([this.d.registry.require(auth.orgId, input.requestId), this.d.settings.of(auth.orgId)]);
    const refusal = typeRefusal(settings, input.type);
    if (refusal) throw validationError(`Invalid input: type ${refusal}`, [{ path: 'type', message: refusal }]);
    if (input.occurredAt && new Date(input.occurredAt).getTime() > Date.now() + FUTURE_SLACK_MS) {
      throw validationError('Invalid input: occurredAt: an exchange cannot be recorded before it takes place', [
        { path: 'occurredAt', message: 'is in the future' },
      ]);
    }
    return { r, settings: settings satisfies ExchangeSettings, call: callAs(ctx) };
  }

  /** Mail destinataire by default: the first address known for the contact (its own, else the client's primary). */
  private async defaultEmail(r: RequestDoc, c: ContactInfo): Promise<string | null> {
    return knownEmails(c, c.email ? null : (await this.d.addresses.of(r.orgId, r.clientId))?.email)[0] ?? null;
  }

  /** The client's contact `n`, or the request's interlocutor. */
  private async recipient(call: Call, r: RequestDoc, n: number | undefined, field: string): Promise<ContactInfo> {
    const number = n ?? r.interlocutor;
    if (number === null) {
      throw validationError(`Invalid input: ${field}: the request has no interlocutor; name the client's contact`, [
        { path: field, message: 'is required: the request has no interlocutor' },
      ]);
    }
    return contactOf(await clientContacts(call, r.clientId, 'clientId'), number, field);
  }

  private newExchange(
    ctx: RelaisContext,
    auth: AuthContext,
    r: RequestDoc,
    input: { type: string; subject?: string; detail: string; occurredAt?: string; visibility: ExchangeVisibility },
    direction: ExchangeDirection,
    sentBy: Party,
    receivedBy: Party,
    email: string | null,
  ): ExchangeDoc {
    const now = new Date();
    return {
      _id: createdId(ctx, auth.orgId),
      orgId: auth.orgId,
      requestId: r._id,
      direction,
      type: input.type,
      sentBy,
      receivedBy,
      email,
      subject: input.subject || null,
      detail: input.detail,
      occurredAt: input.occurredAt ? new Date(input.occurredAt) : now,
      origin: 'staff',
      visibility: input.visibility,
      createdBy: auth.userId,
      createdAt: now,
      edits: [],
      emailDelivery: null,
      attachments: [],
      deleted: null,
    };
  }
}
