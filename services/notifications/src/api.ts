import { z } from 'zod';
import { STAFF, type Role, type Route } from '@relais/shared';
import { senderId, signature, templateKinds, timeZone } from './contract/settings';
import { DEFAULT_WORDINGS, DELIVERY_CHANNELS, DELIVERY_KINDS, DELIVERY_STATUSES } from './contract/vocabulary';

/** Request and response shapes of the notifications service: action params, HTTP routes and OpenAPI. */

const ADMIN: readonly Role[] = ['admin'];
/** Ops who follow deliveries across the org. */
const OPS: readonly Role[] = ['admin', 'manager'];
/** Staff who may write to a file (agents only read): those who send an SMS or an e-mail from it. */
export const CONTACT_SENDERS: readonly Role[] = ['admin', 'manager', 'caseworker'];

const personId = z.uuid({ message: 'must be a person id (UUID)' });

export const pendingMailInput = z.strictObject({ personId });

export const pendingMail = z.object({
  personId: z.string(),
  counts: z.object({ letter: z.number().int(), parcel: z.number().int(), deliveryNotice: z.number().int() }),
});

const sendDays = z
  .array(z.number().int().min(1, 'must be 1 (Monday) to 7 (Sunday)').max(7, 'must be 1 (Monday) to 7 (Sunday)'))
  .min(1, 'needs at least one day')
  .max(7);

const defaultWording = z
  .enum(DEFAULT_WORDINGS)
  .describe(
    'The default texts of the kinds without a custom template. "standard" (the default): seed 001\'s "Bonjour, Vous avez reçu 3 nouveaux courriers CCAS", whose ç makes every mail SMS UCS-2 (70 characters a segment). "gsm7": the same news in correct French within GSM-7, "Bonjour, Vous avez 3 nouveaux courriers CCAS" (160 characters a segment); the reminder reads the same in both. Custom templates are sent as written.',
  );

const segmentSize = { single: z.number().int(), multipart: z.number().int() };
const segmentCosts = z
  .object({
    'GSM-7': z.object({
      ...segmentSize,
      extensionCharacters: z.string().describe('GSM-7 characters that count as 2 (the form feed and ^ { } \\ [ ~ ] | €)'),
      extensionCost: z.number().int(),
    }),
    'UCS-2': z.object(segmentSize),
  })
  .describe(
    'What a segment holds in each encoding: `single`, the characters of a one-segment SMS; `multipart`, those of each segment of a longer one. GSM-7: 160 / 153, its extension characters counting 2; UCS-2 (used as soon as one character is outside GSM-7): 70 / 67, a character beyond the basic plane (an emoji) counting 2.',
  );

export const settingsOutput = z.object({
  smsEnabled: z.boolean(),
  senderId: z.string().nullable(),
  signature: z.string().nullable(),
  /** ISO weekdays: 1 = Monday ... 7 = Sunday. Default Tuesday and Thursday. */
  sendDays: z.array(z.number().int()),
  timeZone: z.string(),
  defaultWording,
  segmentCosts,
  nextSlotAt: z.iso
    .datetime()
    .nullable()
    .describe("The org's next send slot (19:00 on a send day, in its time zone), as a UTC instant; null while SMS are off"),
  nextSlotLocal: z.string().nullable().describe("`nextSlotAt` in the org's time zone, ISO 8601 with its offset: 2026-12-08T19:00:00+01:00"),
  updatedAt: z.iso.datetime().nullable(),
  updatedBy: z.string().nullable(),
});

export const rehearsalOutput = z.object({
  slotAt: z.iso.datetime().describe('The instant the rehearsed slot stands for: now'),
  from: z.iso.datetime().describe('Start of its window: the slot handled before it (mail registered after this and by now is announced)'),
  deliveries: z.number().int().describe('Delivery rows it created (one per person and mail kind; skipped ones included)'),
  nextSlotAt: z.iso.datetime(),
});

export const emptyInput = z.strictObject({});

// Examples for the API document only: values the refinements and the service accept.
const senderIdInput = senderId.meta({ examples: ['CCAS'] });
const signatureInput = signature.meta({ examples: ['CCAS de Saint-Denis'] });
const MAIL_TEMPLATE_EXAMPLE = 'Bonjour, {{count}} {{plural count "courrier" "courriers"}} vous attend. {{signature}}';

export const updateSettingsInput = z.strictObject({
  smsEnabled: z.boolean().optional(),
  senderId: senderIdInput.nullable().optional(),
  signature: signatureInput.nullable().optional(),
  sendDays: sendDays.optional().meta({ examples: [[2, 4]] }),
  timeZone: timeZone.optional().meta({ examples: ['Europe/Paris'] }),
  defaultWording: defaultWording.optional(),
});

const templateSource = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(1000, 'must have at most 1000 characters')
  .meta({ examples: [MAIL_TEMPLATE_EXAMPLE] });

export const previewInput = z.strictObject({
  /** Unsaved values to preview; the stored settings apply to what is left out. */
  senderId: senderIdInput.optional(),
  signature: signatureInput.optional(),
  templates: z
    .partialRecord(templateKinds, templateSource)
    .optional()
    .meta({ examples: [{ 'mail.letter': MAIL_TEMPLATE_EXAMPLE }] }),
  defaultWording: defaultWording.optional(),
});

const preview = z.object({
  kind: templateKinds,
  label: z.string(),
  text: z.string(),
  encoding: z.enum(['GSM-7', 'UCS-2']),
  characters: z.number().int(),
  segments: z.number().int(),
  ucs2Characters: z
    .array(z.object({ character: z.string(), position: z.number().int() }))
    .describe(
      'The characters outside GSM-7 that make this SMS UCS-2 (70 characters a segment instead of 160), each with its position in `text` (1 = the first character); empty for a GSM-7 SMS.',
    ),
});
export const previewOutput = z.object({ senderId: z.string().nullable(), previews: z.array(preview) });

export const templatesOutput = z.object({
  templates: z.array(z.object({ kind: templateKinds, label: z.string(), source: z.string(), isDefault: z.boolean(), variables: z.array(z.string()) })),
});

export const setTemplateInput = z.strictObject({ kind: templateKinds, source: templateSource });
export const templateKindInput = z.strictObject({ kind: templateKinds });

const delivery = z.object({
  id: z.string(),
  personId: z.string(),
  /** When it was (or is) due: the slot or the reminder time. */
  date: z.iso.datetime(),
  localDate: z.string().describe("`date` in the org's time zone, ISO 8601 with that zone's offset at that date: 2021-10-13T19:00:00+02:00"),
  dateLabel: z.string().describe("`date` as seed 001 shows it, in the org's time zone: 13/10/2021 à 19:00"),
  status: z.enum(DELIVERY_STATUSES),
  type: z.enum(DELIVERY_KINDS).describe('The template kind, or `contact.sms` / `contact.email`: an SMS or e-mail a staff member wrote and sent from the file'),
  typeLabel: z.string(),
  channel: z.enum(DELIVERY_CHANNELS).describe('`sms`, or `email` (encoding null and segments 0)'),
  subject: z.string().optional().describe("An e-mail's subject"),
  content: z.string().nullable(),
  encoding: z.enum(['GSM-7', 'UCS-2']).nullable(),
  segments: z.number().int(),
  provider: z
    .string()
    .nullable()
    .describe('Who took the message: `twilio`, `smtp`, or `log` (a development stack: logged, not sent); null before any provider call'),
  reason: z.string().optional(),
  error: z.object({ code: z.string().optional(), message: z.string() }).optional(),
  attempts: z.number().int(),
  events: z.array(
    z.object({
      status: z.enum(DELIVERY_STATUSES),
      at: z.iso.datetime(),
      localAt: z.string().describe("`at` in the org's time zone, ISO 8601 with its offset: 2021-10-13T19:00:03+02:00"),
      atLabel: z.string().describe("`at` in the org's time zone, to the minute: 13/10/2021 à 19:00"),
      detail: z.string().optional(),
    }),
  ),
});

export const historyInput = z.strictObject({
  personId,
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const listZone = z.string().describe("The IANA time zone of the local times below (the org's, from its SMS settings): Europe/Paris");
export const historyOutput = z.object({ personId: z.string(), timeZone: listZone, entries: z.array(delivery) });

export const deliveriesInput = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional(),
  type: z.enum(DELIVERY_KINDS).optional(),
  from: z.iso.datetime({ message: 'must be a date-time such as 2026-11-01T00:00:00Z' }).optional(),
  to: z.iso.datetime({ message: 'must be a date-time such as 2026-12-01T00:00:00Z' }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export const deliveriesOutput = z.object({
  counts: z.record(z.string(), z.number().int()),
  total: z.number().int(),
  timeZone: listZone,
  items: z.array(delivery),
  nextCursor: z.string().nullable(),
});

/** `notifications.primaryContact`: a party's primary channel as notifications knows it (an action, no HTTP route). */
export const primaryContactInput = z.strictObject({ partyId: z.uuid({ message: "must be a party id (UUID): a person's or a company's" }) });

/**
 * `notifications.sendContactSms` (an action, no HTTP route): an SMS a staff member writes from a
 * file (the contacts service's contact action), sent at once to the number given, with the org's
 * signature. Idempotent on `ref`.
 */
export const sendContactSmsInput = z.strictObject({
  personId: z.uuid({ message: "must be a party id (UUID): the person's" }),
  to: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be a phone number in E.164, such as +33612345678'),
  text: z.string().trim().min(1, 'cannot be empty').max(1000, 'must be at most 1000 characters'),
  ref: z.uuid({ message: 'must be the id (UUID) of the contact action the SMS is sent for' }),
});
/**
 * The delivery id of a contact SMS or e-mail: one per (org, reference), so the same request twice
 * writes one delivery, and the requester knows it before asking. Pure.
 */
export const contactDeliveryId = (orgId: string, ref: string): string => `contact:${orgId}:${ref}`;

/** What `sendContactSms` and `sendContactEmail` answer. */
export const sendContactOutput = z.object({ deliveryId: z.string().describe("The delivery's id: its `delivery.outcome` names it") });

/**
 * `notifications.sendContactEmail` (an action, no HTTP route): an e-mail a staff member writes from
 * a file (the contacts service's contact action), sent at once through SMTP to the address given,
 * from the service's sender address, with the org's signature. Idempotent on `ref`.
 */
export const sendContactEmailInput = z.strictObject({
  personId: z.uuid({ message: "must be a party id (UUID): the person's or the company's" }),
  to: z.email({ message: 'must be an e-mail address, such as jeanne.payet@example.org' }),
  subject: z.string().trim().min(1, 'cannot be empty').max(200, 'must be at most 200 characters'),
  text: z.string().trim().min(1, 'cannot be empty').max(10_000, 'must be at most 10000 characters'),
  ref: z.uuid({ message: 'must be the id (UUID) of the contact action or exchange the e-mail is sent for' }),
  /** Threading of a conversation (the exchanges service): the Message-ID the e-mail goes with, where replies go, what it answers. */
  mail: z
    .strictObject({
      messageId: z
        .string()
        .regex(/^<[^<>\s@]+@[^<>\s@]+>$/, 'must be a Message-ID such as <id@example.org>')
        .optional(),
      replyTo: z.email({ message: 'must be an e-mail address' }).optional(),
      inReplyTo: z
        .string()
        .regex(/^<[^<>\s]+>$/, 'must be a Message-ID such as <id@example.org>')
        .optional(),
    })
    .optional(),
});

/** A provider's status report (verified by the gateway before it reaches the service). */
export const providerStatusInput = z.strictObject({
  deliveryId: z.string().max(300).optional(),
  providerId: z.string().min(1).max(100),
  status: z.string().min(1).max(40),
  errorCode: z.string().max(20).optional(),
});

/** A collaborator's in-app notifications (a client wrote on a request they handle). */
export const noticesInput = z.strictObject({
  unread: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true')
    .describe('Only the unread ones'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const notice = z.object({
  id: z.string(),
  reason: z.enum(['assigned', 'team']).describe('Why you got it: the request is yours, or your team’s'),
  requestId: z.string(),
  requestNumber: z.string(),
  title: z.string(),
  exchangeId: z.string(),
  origin: z.enum(['portal', 'email']),
  subject: z.string().nullable(),
  preview: z.string(),
  deliveryId: z.string().nullable().describe('The e-mail that told you too, in the delivery history'),
  createdAt: z.iso.datetime(),
  read: z.boolean(),
  readAt: z.iso.datetime().nullable(),
});
export const noticesOutput = z.object({ unread: z.number().int(), items: z.array(notice) });
export const markNoticeInput = z.strictObject({ noticeId: z.uuid({ message: "must be a notification's id (UUID)" }), read: z.boolean() });
export const noticeOutput = notice;

export const routes: Route[] = [
  {
    method: 'get',
    path: '/v1/me/notifications',
    action: 'notifications.myNotices',
    input: noticesInput,
    output: noticesOutput,
    roles: STAFF,
    summary: 'Your notifications: what clients wrote on the requests you or your team handle, the latest first',
    tag: 'Notifications',
  },
  {
    method: 'patch',
    path: '/v1/me/notifications/:noticeId',
    action: 'notifications.markNotice',
    input: markNoticeInput,
    output: noticeOutput,
    roles: STAFF,
    summary: 'Mark one of your notifications read or unread',
    tag: 'Notifications',
  },
  {
    method: 'get',
    path: '/v1/people/:personId/pending-mail',
    action: 'notifications.pendingMail',
    input: pendingMailInput,
    output: pendingMail,
    roles: STAFF,
    summary: 'Mail the notifications service counts for a person (not handed over), per kind',
    tag: 'Notifications',
  },
  {
    method: 'get',
    path: '/v1/notifications/settings',
    action: 'notifications.getSettings',
    input: emptyInput,
    output: settingsOutput,
    roles: ADMIN,
    summary: "The org's SMS settings",
    tag: 'Notifications',
  },
  {
    method: 'put',
    path: '/v1/notifications/settings',
    action: 'notifications.updateSettings',
    input: updateSettingsInput,
    output: settingsOutput,
    roles: ADMIN,
    summary: 'Change the SMS settings (switch, sender id, signature, send days, time zone, default wording)',
    tag: 'Notifications',
  },
  {
    method: 'post',
    path: '/v1/notifications/preview',
    action: 'notifications.preview',
    input: previewInput,
    output: previewOutput,
    roles: ADMIN,
    summary: 'Render every SMS with sample data: text, encoding, characters, segments and the characters that force UCS-2',
    tag: 'Notifications',
  },
  {
    method: 'get',
    path: '/v1/notifications/templates',
    action: 'notifications.templates',
    input: emptyInput,
    output: templatesOutput,
    roles: ADMIN,
    summary: "The org's SMS templates (handlebars) and the variables each may use",
    tag: 'Notifications',
  },
  {
    method: 'put',
    path: '/v1/notifications/templates/:kind',
    action: 'notifications.setTemplate',
    input: setTemplateInput,
    output: templatesOutput,
    roles: ADMIN,
    summary: 'Replace one SMS template',
    tag: 'Notifications',
  },
  {
    method: 'delete',
    path: '/v1/notifications/templates/:kind',
    action: 'notifications.resetTemplate',
    input: templateKindInput,
    output: templatesOutput,
    roles: ADMIN,
    summary: 'Go back to the default text of one SMS template',
    tag: 'Notifications',
  },
  {
    method: 'post',
    path: '/v1/notifications/rehearsal',
    action: 'notifications.rehearse',
    input: emptyInput,
    output: rehearsalOutput,
    roles: ADMIN,
    summary: "Rehearse the org's next slot now (not in production)",
    description:
      'Sends now what the next slot would send: one SMS per person and mail kind registered since the last slot, as a slot at this instant. That mail is then not announced again at the next slot. Refused (403) when the stack runs with NODE_ENV=production, and (409) while SMS are off.',
    tag: 'Notifications',
  },
  {
    method: 'get',
    path: '/v1/people/:personId/sms-history',
    action: 'notifications.history',
    input: historyInput,
    output: historyOutput,
    roles: STAFF,
    summary: "A person's SMS history: date (also in the org's time zone), status, type, content, encoding, segments, error",
    tag: 'Notifications',
  },
  {
    method: 'get',
    path: '/v1/notifications/deliveries',
    action: 'notifications.deliveries',
    input: deliveriesInput,
    output: deliveriesOutput,
    roles: OPS,
    summary: "The org's deliveries, filtered by status, type and date range, with counts per status",
    tag: 'Notifications',
  },
];
