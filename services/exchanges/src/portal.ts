import { conflict, createdId, notFound, validationError, type PortalContext, type RelaisContext } from '@relais/shared';
import type { Exchanges } from './data/exchanges';
import type { InterventionRequests } from './data/requests';
import type { SettingsRepo } from './data/settings';
import type { MailFiles } from './data/mailFiles';
import type { Summaries } from './data/summaries';
import { assigneeParty, clientContacts, contactParty, type Call } from './directory';
import type { ExchangeDoc, Party } from './domain/exchanges';
import { portalPostRefusal, requestNumber, type RequestDoc } from './domain/requests';
import { defaultType, typeLabel, typeRefusal, type ExchangeSettings } from './domain/settings';
import type { Recording } from './recording';

/*
 * The client portal (seed 004: "le portail client permet à vos clients de saisir directement un
 * échange"): a client's contact sees the client's requests and the exchanges visible to the
 * client, and posts on an ongoing request or one completed recently. Everything is read through
 * the portal context's client: another client's request is as unknown as a missing one.
 */

const partyName = (p: Party) => p.name ?? (p.kind === 'external' ? p.email : null);
const visible = (x: ExchangeDoc) => x.visibility === 'client' && !x.deleted;

const toPortalExchange = (x: ExchangeDoc, s: ExchangeSettings) => ({
  id: x._id,
  direction: x.direction,
  type: x.type,
  typeLabel: typeLabel(s, x.type),
  from: partyName(x.sentBy),
  to: partyName(x.receivedBy),
  subject: x.subject,
  detail: x.detail,
  occurredAt: x.occurredAt.toISOString(),
  origin: x.origin,
  attachments: x.attachments,
});

export class Portal {
  constructor(
    private readonly d: {
      requests: InterventionRequests;
      exchanges: Exchanges;
      summaries: Summaries;
      files: MailFiles;
      settings: SettingsRepo;
      recording: Recording;
      /** Calls as the platform in an org: the portal contact has no staff auth to call with. */
      call: (orgId: string) => Call;
    },
  ) {}

  private async request(p: PortalContext, requestId: string): Promise<RequestDoc> {
    const r = await this.d.requests.get(p.orgId, requestId);
    if (!r || r.clientId !== p.clientId) throw notFound('Intervention request');
    return r;
  }

  private view(r: RequestDoc, shown: number, s: ExchangeSettings, now: Date) {
    return {
      id: r._id,
      number: requestNumber(r.number),
      title: r.title,
      status: r.status,
      openedAt: r.openedAt.toISOString(),
      doneAt: r.doneAt?.toISOString() ?? null,
      closedAt: r.closedAt?.toISOString() ?? null,
      exchanges: shown,
      canPost: portalPostRefusal(r, now, s.portalPostDays) === null,
    };
  }

  /** The client's requests, each with how many exchanges the client sees (from the summaries: one read for all). */
  async list(p: PortalContext) {
    const [docs, s] = await Promise.all([this.d.requests.ofClient(p.orgId, p.clientId), this.d.settings.of(p.orgId)]);
    const summaries = await this.d.summaries.of(
      p.orgId,
      docs.map((r) => r._id),
    );
    const now = new Date();
    return { items: docs.map((r, i) => this.view(r, summaries[i].summary.shown, s, now)) };
  }

  async get(p: PortalContext, requestId: string) {
    const r = await this.request(p, requestId);
    const [all, s] = await Promise.all([this.d.exchanges.ofRequest(p.orgId, r._id), this.d.settings.of(p.orgId)]);
    const shown = all.filter(visible);
    return { ...this.view(r, shown.length, s, new Date()), items: shown.map((x) => toPortalExchange(x, s)) };
  }

  /** A file of an exchange the client sees, on one of the client's requests; 404 otherwise. */
  async attachment(p: PortalContext, ref: { requestId: string; exchangeId: string; attachmentId: string }) {
    const r = await this.request(p, ref.requestId);
    const x = await this.d.exchanges.get(p.orgId, ref.exchangeId);
    const file = x && x.requestId === r._id && visible(x) ? x.attachments.find((a) => a.id === ref.attachmentId) : undefined;
    if (!x || !file) throw notFound('Attachment');
    const bytes = await this.d.files.open(p.orgId, x._id, file);
    // Files are written before the exchange that names them: missing bytes are a fault, not a 404.
    if (!bytes) throw new Error(`attachment ${file.id}: its file is missing or of another size`);
    return { bytes, file };
  }

  async post(p: PortalContext, input: { requestId: string; type?: string; subject?: string; detail: string }, ctx: RelaisContext) {
    const r = await this.request(p, input.requestId);
    const s = await this.d.settings.of(p.orgId);
    const now = new Date();
    const refusal = portalPostRefusal(r, now, s.portalPostDays);
    if (refusal) throw conflict(`This message cannot be posted: ${refusal}.`);
    const type = input.type ?? defaultType(s);
    const typeProblem = typeRefusal(s, type);
    if (typeProblem) throw validationError(`Invalid input: type ${typeProblem}`, [{ path: 'type', message: typeProblem }]);

    const call = this.d.call(p.orgId);
    const contact = (await clientContacts(call, p.clientId, null)).find((c) => c.number === p.contactNumber);
    const sentBy: Party = contact ? contactParty(contact) : { kind: 'contact', contactNumber: p.contactNumber };
    const receivedBy = await assigneeParty(call, r);
    const x: ExchangeDoc = {
      _id: createdId(ctx, p.orgId),
      orgId: p.orgId,
      requestId: r._id,
      direction: 'received',
      type,
      sentBy,
      receivedBy,
      email: contact?.email ?? null,
      subject: input.subject || null,
      detail: input.detail,
      occurredAt: now,
      origin: 'portal',
      visibility: 'client',
      createdBy: `portal:${p.accessId}`,
      createdAt: now,
      edits: [],
      emailDelivery: null,
      attachments: [],
      deleted: null,
    };
    return toPortalExchange(await this.d.recording.store(x, r), s);
  }
}
