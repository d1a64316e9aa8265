import { z } from 'zod';
import { STAFF, type Role, type Route } from '@relais/shared';

/*
 * The contract of the exchanges service (seed 004): intervention requests, the exchanges recorded
 * on them, the e-mails sent from them, drafts, summaries and the org's settings. Action params,
 * HTTP routes and the OpenAPI document all come from here.
 */

/** Who registers requests, records exchanges and sends e-mails: every role that works files. */
export const WRITERS: readonly Role[] = ['admin', 'manager', 'caseworker', 'agent'];
/** Who sends e-mails to a client: as for e-mails sent from a file (the notifications service's contact senders). */
export const SENDERS: readonly Role[] = ['admin', 'manager', 'caseworker'];
/** The org's settings of exchanges (the type list, the delete window, the portal's post window). */
export const SETTERS: readonly Role[] = ['admin'];

const uuid = (what: string) => z.uuid({ message: `must be ${what} (UUID)` });
export const requestId = uuid("an intervention request's id");
const exchangeId = uuid("an exchange's id");
const draftId = uuid("a draft's id");
const clientId = uuid("the client's party id (a person's or a company's)");
const userId = z.string().min(1, 'must be a user id').max(100, 'must be at most 100 characters');
const contactNumber = z.coerce
  .number({ error: 'must be a contact number: 1, 2, 3...' })
  .int('must be a contact number: 1, 2, 3...')
  .min(1, 'must be a contact number: 1, 2, 3...')
  .max(999_999, 'must be at most 999999');
const email = z.email({ message: 'must be an e-mail address, such as jeanne.payet@example.org' }).max(320, 'must be at most 320 characters');
const subject = z.string().trim().max(200, 'must be at most 200 characters');
const detail = z.string().trim().min(1, 'is required: say what was exchanged').max(10_000, 'must be at most 10000 characters');
const typeId = z
  .string()
  .min(1, 'must be an exchange type')
  .max(40, 'must be at most 40 characters')
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'must be an exchange type id such as reminder (letters, digits, - and _)');
const when = z.iso.datetime({ offset: true, message: 'must be a date-time such as 2026-12-01T09:30:00+01:00' });
const team = z.string().trim().min(1, 'cannot be empty').max(100, 'must be at most 100 characters');
const title = z.string().trim().min(1, 'is required: what the client asks for').max(300, 'must be at most 300 characters');
const visibility = z
  .enum(['internal', 'client'], { error: 'must be internal or client' })
  .describe('`client`: the client sees it on the portal; `internal`: the org only');

// ------------------------------------------------------------------------------------- requests

export const REQUEST_STATUS_VALUES = ['open', 'done', 'closed'] as const;

export const createRequestInput = z.strictObject({
  clientId,
  title: title.meta({ examples: ['Fuite sous l’évier de la cuisine'] }),
  interlocutor: contactNumber.optional().describe("The client's contact the request is followed with (its number); the client's first contact by default"),
  assignedTo: userId.optional().describe('The collaborator who handles it; the user registering it by default'),
  team: team
    .optional()
    .describe('The team that handles it: its members are told of what the client posts')
    .meta({ examples: ['plomberie'] }),
});

export const requestRefInput = z.strictObject({ requestId });

export const updateRequestInput = z
  .strictObject({
    requestId,
    status: z.enum(REQUEST_STATUS_VALUES, { error: 'must be open, done or closed' }).optional(),
    interlocutor: contactNumber.optional(),
    assignedTo: userId.nullable().optional(),
    team: team.nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 1, { message: 'give status, interlocutor, assignedTo or team', path: ['(body)'] });

export const clientRequestsInput = z.strictObject({ partyId: clientId });

const summaryView = z.object({
  count: z.number().int().describe('Exchanges recorded on the request (deleted ones not counted)'),
  reminders: z.number().int(),
  red: z.boolean().describe('At least one exchange is a reminder: the counter shows red'),
  latest: z.array(
    z.object({
      id: z.string(),
      direction: z.enum(['received', 'sent']),
      type: z.string(),
      occurredAt: z.iso.datetime(),
      preview: z.string().describe('Subject and detail on one line, cut on a word boundary'),
    }),
  ),
});

export const requestView = z.object({
  id: z.string(),
  number: z.string().describe('DIT-00042: per org, in order of registration'),
  clientId: z.string(),
  interlocutor: z.number().int().nullable(),
  title: z.string(),
  assignedTo: z.string().nullable(),
  team: z.string().nullable(),
  status: z.enum(REQUEST_STATUS_VALUES),
  openedAt: z.iso.datetime(),
  doneAt: z.iso.datetime().nullable(),
  closedAt: z.iso.datetime().nullable(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  summary: summaryView,
});
export const requestList = z.object({ items: z.array(requestView) });

// ------------------------------------------------------------------------------------ exchanges

const partyView = z.object({
  kind: z.enum(['user', 'contact', 'external']),
  userId: z.string().optional(),
  contactNumber: z.number().int().optional(),
  name: z.string().nullable(),
  email: z.string().nullable(),
});

export const exchangeView = z.object({
  id: z.string(),
  requestId: z.string(),
  direction: z.enum(['received', 'sent']),
  type: z.string(),
  typeLabel: z.string(),
  sentBy: partyView,
  receivedBy: partyView,
  email: z.string().nullable().describe('The address a sent e-mail went to, or a received one came from'),
  subject: z.string().nullable(),
  detail: z.string().nullable().describe('Null on a deleted exchange (its tombstone)'),
  occurredAt: z.iso.datetime(),
  origin: z.enum(['staff', 'portal', 'email']),
  visibility: z.enum(['internal', 'client']),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  edited: z.boolean(),
  edits: z.array(z.object({ at: z.iso.datetime(), by: z.string(), previousSubject: z.string().nullable(), previousDetail: z.string() })),
  emailDelivery: z
    .object({
      deliveryId: z.string(),
      messageId: z.string(),
      status: z.enum(['sending', 'sent', 'failed', 'bounced']).describe('sending: not yet accepted by the SMTP server; sent: accepted; failed; bounced'),
      error: z.string().optional(),
      updatedAt: z.iso.datetime(),
    })
    .nullable(),
  attachments: z.array(z.object({ id: z.string(), filename: z.string(), contentType: z.string(), size: z.number().int() })),
  deleted: z.object({ at: z.iso.datetime(), by: z.string(), byAdmin: z.boolean() }).nullable(),
});
export const exchangeList = z.object({ requestId: z.string(), number: z.string(), summary: summaryView, items: z.array(exchangeView) });

const common = {
  requestId,
  type: typeId.describe("One of the org's exchange types (GET /v1/exchanges/settings): contact, appointment, informationRequest, reminder, other..."),
  subject: subject.optional().describe('Objet: optional'),
  detail: detail.describe('Détail: required').meta({ examples: ['Le client rappellera demain matin pour fixer le rendez-vous.'] }),
  occurredAt: when.optional().describe('When it took place; now by default'),
  visibility: visibility.default('internal'),
};

export const recordSentInput = z.strictObject({
  ...common,
  sentBy: userId.optional().describe('Envoyé par: the collaborator (user id); the current user by default'),
  receivedBy: contactNumber.optional().describe("Reçu par: the client's contact (number); the request's interlocutor by default"),
  email: email.optional().describe("Mail destinataire: the address it went to; the recipient's e-mail by default"),
});

export const recordReceivedInput = z.strictObject({
  ...common,
  sentBy: contactNumber.optional().describe("Envoyé par: the client's contact (number); the request's interlocutor by default"),
  receivedBy: userId.optional().describe('Reçu par: the collaborator (user id); the current user by default'),
  email: email.optional().describe("The address it came from; the sender's e-mail by default"),
});

export const sendEmailInput = z.strictObject({
  requestId,
  type: typeId.default('contact'),
  receivedBy: contactNumber.optional().describe("The client's contact (number); the request's interlocutor by default"),
  to: email.optional().describe("Mail destinataire: the contact's e-mail by default"),
  subject: subject.min(1, 'is required for an e-mail').meta({ examples: ['Votre demande DIT-00042'] }),
  detail: detail.meta({ examples: ['Bonjour,\n\nNous passerons mardi entre 9h et 11h.'] }),
  visibility: visibility.default('client'),
  draftId: draftId.optional().describe('The draft this e-mail was written in: it is gone once the e-mail is sent'),
});

export const exchangeRefInput = z.strictObject({ requestId, exchangeId });
export const attachmentRefInput = z.strictObject({ requestId, exchangeId, attachmentId: uuid("an attachment's id") });

export const editExchangeInput = z
  .strictObject({
    requestId,
    exchangeId,
    subject: subject.nullable().optional(),
    detail: detail.optional(),
    type: typeId.optional(),
    visibility: visibility.optional(),
  })
  .refine((v) => v.subject !== undefined || v.detail !== undefined || v.type !== undefined || v.visibility !== undefined, {
    message: 'give subject, detail, type or visibility',
    path: ['(body)'],
  });

const choice = z.object({ name: z.string(), emails: z.array(z.string()).describe('The addresses known for them: the first is the default') });
export const partiesOutput = z.object({
  collaborators: z.array(choice.extend({ userId: z.string() })).describe('Envoyé par (a sent message) or reçu par (a received one): the org’s active users'),
  contacts: z.array(choice.extend({ contactNumber: z.number().int(), function: z.string() })).describe("The client's current contacts"),
  defaults: z.object({
    user: z.string().describe('The current user'),
    contactNumber: z.number().int().nullable().describe("The request's interlocutor"),
    email: z.string().nullable().describe("Mail destinataire: the interlocutor's default address"),
  }),
});

export const summariesInput = z.strictObject({
  requestIds: z.array(requestId).min(1, 'give at least one request id').max(1000, 'at most 1000 request ids at once'),
});
export const summariesOutput = z.object({ items: z.array(z.object({ requestId: z.string(), summary: summaryView })) });

// --------------------------------------------------------------------------------------- drafts

export const saveDraftInput = z.strictObject({
  requestId,
  receivedBy: contactNumber.optional(),
  to: email.optional(),
  subject: subject.optional(),
  detail: z.string().max(10_000, 'must be at most 10000 characters').optional(),
});
export const updateDraftInput = z.strictObject({
  draftId,
  receivedBy: contactNumber.nullable().optional(),
  to: email.nullable().optional(),
  subject: subject.nullable().optional(),
  detail: z.string().max(10_000, 'must be at most 10000 characters').optional(),
});
export const draftRefInput = z.strictObject({ draftId });
export const draftView = z.object({
  id: z.string(),
  requestId: z.string(),
  userId: z.string(),
  receivedBy: z.number().int().nullable(),
  to: z.string().nullable(),
  subject: z.string().nullable(),
  detail: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export const draftList = z.object({ items: z.array(draftView) });
export const requestDraftsInput = z.strictObject({ requestId });

// ------------------------------------------------------------------------------------- settings

export const settingsView = z.object({
  types: z.array(z.object({ id: z.string(), label: z.string() })),
  deleteWindowMinutes: z.number().int().describe("How long after recording it an exchange's author may delete it"),
  portalPostDays: z.number().int().describe('How many days after a request is done its client may still post on it'),
});
export const updateSettingsInput = z.strictObject({
  types: z
    .array(z.strictObject({ id: typeId, label: z.string().trim().min(1, 'cannot be empty').max(100, 'must be at most 100 characters') }))
    .min(1)
    .max(50, 'at most 50 types')
    .optional()
    .describe('The whole list; it must keep `reminder` (the red counter)'),
  deleteWindowMinutes: z.number().int('must be whole minutes').min(0).max(10_080, 'must be at most 10080 (a week)').optional(),
  portalPostDays: z.number().int('must be whole days').min(0).max(365, 'must be at most 365').optional(),
});

// --------------------------------------------------------------------------------------- portal

const portalExchange = z.object({
  id: z.string(),
  direction: z.enum(['received', 'sent']).describe('`received`: from the client (you); `sent`: to the client'),
  type: z.string(),
  typeLabel: z.string(),
  from: z.string().nullable().describe('Who wrote it: a name'),
  to: z.string().nullable(),
  subject: z.string().nullable(),
  detail: z.string(),
  occurredAt: z.iso.datetime(),
  origin: z.enum(['staff', 'portal', 'email']),
  attachments: z.array(z.object({ id: z.string(), filename: z.string(), contentType: z.string(), size: z.number().int() })),
});
const portalRequest = z.object({
  id: z.string(),
  number: z.string(),
  title: z.string(),
  status: z.enum(REQUEST_STATUS_VALUES),
  openedAt: z.iso.datetime(),
  doneAt: z.iso.datetime().nullable(),
  closedAt: z.iso.datetime().nullable(),
  exchanges: z.number().int().describe('Exchanges visible to the client'),
  canPost: z.boolean().describe('Whether a message can still be posted on it: ongoing, or completed less than the org’s window ago'),
});
export const portalRequestList = z.object({ items: z.array(portalRequest) });
export const portalRequestDetail = portalRequest.extend({ items: z.array(portalExchange) });
export const portalPostInput = z.strictObject({
  requestId,
  type: typeId.optional().describe("One of the org's exchange types; contact by default"),
  subject: subject.optional(),
  detail: detail.meta({ examples: ['Le technicien peut passer jeudi, le gardien sera là.'] }),
});
export { portalExchange };

/** The default address an exchange with a party is sent to (no HTTP route: exchanges' own routes use it). */
export const defaultAddressInput = z.strictObject({ partyId: z.uuid({ message: 'must be a party id (UUID)' }) });

export const emptyInput = z.strictObject({});

const requestPath = '/v1/intervention-requests/:requestId';
const TAG = 'Exchanges';

export const routes: Route[] = [
  {
    method: 'post',
    path: '/v1/intervention-requests',
    action: 'exchanges.createRequest',
    input: createRequestInput,
    output: requestView,
    status: 201,
    roles: WRITERS,
    idempotent: true,
    summary: 'Register an intervention request (DIT) for a client: numbered per org, open',
    tag: TAG,
  },
  {
    method: 'get',
    path: requestPath,
    action: 'exchanges.getRequest',
    input: requestRefInput,
    output: requestView,
    roles: STAFF,
    summary: 'An intervention request with its exchanges summary',
    tag: TAG,
  },
  {
    method: 'patch',
    path: requestPath,
    action: 'exchanges.updateRequest',
    input: updateRequestInput,
    output: requestView,
    roles: WRITERS,
    summary: 'Move a request (open, done, closed), or change its interlocutor, collaborator or team',
    description: 'open -> done -> closed; a done request may reopen; a closed one is final (409).',
    tag: TAG,
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/intervention-requests',
    action: 'exchanges.clientRequests',
    input: clientRequestsInput,
    output: requestList,
    roles: STAFF,
    summary: "A client's intervention requests, the most recent first, each with its summary",
    tag: TAG,
  },
  {
    method: 'get',
    path: `${requestPath}/exchanges`,
    action: 'exchanges.history',
    input: requestRefInput,
    output: exchangeList,
    roles: STAFF,
    summary: "A request's exchanges, oldest first: edits with the previous wording, deletions as tombstones",
    tag: TAG,
  },
  {
    method: 'get',
    path: `${requestPath}/parties`,
    action: 'exchanges.parties',
    input: requestRefInput,
    output: partiesOutput,
    roles: STAFF,
    summary: 'Who may send or receive an exchange of the request, with their addresses, and the defaults',
    description:
      "The org's collaborators and the client's current contacts, each with the e-mail addresses known for them (a contact's own, then the client's primary e-mail when it is another), and the seed's defaults: the current user, the request's interlocutor and its address.",
    tag: TAG,
  },
  {
    method: 'post',
    path: `${requestPath}/exchanges/sent`,
    action: 'exchanges.recordSent',
    input: recordSentInput,
    output: exchangeView,
    status: 201,
    roles: WRITERS,
    idempotent: true,
    summary: 'Record a message sent to the client (a call, a letter, an e-mail sent elsewhere)',
    tag: TAG,
  },
  {
    method: 'post',
    path: `${requestPath}/exchanges/received`,
    action: 'exchanges.recordReceived',
    input: recordReceivedInput,
    output: exchangeView,
    status: 201,
    roles: WRITERS,
    idempotent: true,
    summary: 'Record a message received from the client',
    tag: TAG,
  },
  {
    method: 'post',
    path: `${requestPath}/emails`,
    action: 'exchanges.sendEmail',
    input: sendEmailInput,
    output: exchangeView,
    status: 201,
    roles: SENDERS,
    idempotent: true,
    summary: 'Send an e-mail to the client through SMTP, recorded as a sent exchange',
    description:
      'The exchange is recorded at once with emailDelivery.status `sending`; it becomes `sent` when the SMTP server accepts the e-mail, `failed` when it refuses it for good (transient failures are retried), `bounced` when a bounce comes back. A reply is recorded as a received exchange on the same request.',
    tag: TAG,
  },
  {
    method: 'patch',
    path: `${requestPath}/exchanges/:exchangeId`,
    action: 'exchanges.editExchange',
    input: editExchangeInput,
    output: exchangeView,
    roles: WRITERS,
    summary: 'Edit an exchange: the previous wording stays in its history',
    description: 'Its author or an admin; never an e-mail or a portal post (409).',
    tag: TAG,
  },
  {
    method: 'delete',
    path: `${requestPath}/exchanges/:exchangeId`,
    action: 'exchanges.deleteExchange',
    input: exchangeRefInput,
    output: exchangeView,
    roles: STAFF,
    summary: 'Delete an exchange, leaving a tombstone in the history',
    description:
      'Its author only, within the delete window after recording it (settings); never an e-mail that was sent or came in, nor a portal post (409). Admins may always, and the tombstone says so.',
    tag: TAG,
  },
  {
    method: 'get',
    path: `${requestPath}/exchanges/:exchangeId/attachments/:attachmentId`,
    action: 'exchanges.attachmentContent',
    input: attachmentRefInput,
    output: z.string().meta({ format: 'binary' }).describe('The bytes of the file, as they came with the e-mail'),
    roles: STAFF,
    streamsBytes: true,
    summary: 'Download a file that came with an inbound e-mail',
    tag: TAG,
  },
  {
    method: 'post',
    path: '/v1/exchange-summaries',
    action: 'exchanges.summaries',
    input: summariesInput,
    output: summariesOutput,
    roles: STAFF,
    summary: 'The exchanges summaries of up to 1,000 requests at once: count, red flag, latest previews',
    description: 'Read from a read model kept with each exchange: nothing is counted on read. An unknown id has an empty summary.',
    tag: TAG,
  },
  {
    method: 'post',
    path: `${requestPath}/drafts`,
    action: 'exchanges.saveDraft',
    input: saveDraftInput,
    output: draftView,
    status: 201,
    roles: WRITERS,
    idempotent: true,
    summary: 'Keep an e-mail whose text was started as a draft',
    tag: TAG,
  },
  {
    method: 'get',
    path: `${requestPath}/drafts`,
    action: 'exchanges.requestDrafts',
    input: requestDraftsInput,
    output: draftList,
    roles: STAFF,
    summary: "The current user's drafts on a request",
    tag: TAG,
  },
  {
    method: 'get',
    path: '/v1/drafts',
    action: 'exchanges.myDrafts',
    input: emptyInput,
    output: draftList,
    roles: STAFF,
    summary: "The current user's drafts",
    tag: TAG,
  },
  {
    method: 'get',
    path: '/v1/drafts/:draftId',
    action: 'exchanges.getDraft',
    input: draftRefInput,
    output: draftView,
    roles: STAFF,
    summary: 'Resume a draft',
    tag: TAG,
  },
  {
    method: 'patch',
    path: '/v1/drafts/:draftId',
    action: 'exchanges.updateDraft',
    input: updateDraftInput,
    output: draftView,
    roles: WRITERS,
    summary: 'Change a draft',
    tag: TAG,
  },
  {
    method: 'delete',
    path: '/v1/drafts/:draftId',
    action: 'exchanges.discardDraft',
    input: draftRefInput,
    output: draftView,
    roles: STAFF,
    summary: 'Discard a draft',
    tag: TAG,
  },
  {
    method: 'get',
    path: '/v1/portal/requests',
    action: 'exchanges.portalRequests',
    input: emptyInput,
    output: portalRequestList,
    roles: [],
    audience: 'portal',
    summary: "The client's intervention requests, as the signed-in contact sees them",
    tag: 'Client portal',
  },
  {
    method: 'get',
    path: '/v1/portal/requests/:requestId',
    action: 'exchanges.portalRequest',
    input: requestRefInput,
    output: portalRequestDetail,
    roles: [],
    audience: 'portal',
    summary: 'A request of the client with the exchanges visible to the client',
    description: "Another client's request answers 404, as an unknown one.",
    tag: 'Client portal',
  },
  {
    method: 'get',
    path: '/v1/portal/requests/:requestId/exchanges/:exchangeId/attachments/:attachmentId',
    action: 'exchanges.portalAttachment',
    input: attachmentRefInput,
    output: z.string().meta({ format: 'binary' }).describe('The bytes of the file'),
    roles: [],
    audience: 'portal',
    streamsBytes: true,
    summary: 'Download a file of an exchange visible to the client',
    tag: 'Client portal',
  },
  {
    method: 'post',
    path: '/v1/portal/requests/:requestId/exchanges',
    action: 'exchanges.portalPost',
    input: portalPostInput,
    output: portalExchange,
    status: 201,
    roles: [],
    audience: 'portal',
    idempotent: true,
    summary: 'Post a message on an ongoing request, or one completed recently',
    description:
      "Recorded as a received exchange, visible to the client; the request's collaborator and team are notified. A closed request, or one completed longer ago than the org's window, answers 409.",
    tag: 'Client portal',
  },
  {
    method: 'get',
    path: '/v1/exchanges/settings',
    action: 'exchanges.getSettings',
    input: emptyInput,
    output: settingsView,
    roles: STAFF,
    summary: "The org's exchange types, delete window and portal post window",
    tag: TAG,
  },
  {
    method: 'put',
    path: '/v1/exchanges/settings',
    action: 'exchanges.updateSettings',
    input: updateSettingsInput,
    output: settingsView,
    roles: SETTERS,
    summary: "Change the org's exchange types, delete window or portal post window",
    tag: TAG,
  },
];
