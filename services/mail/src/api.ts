import { z } from 'zod';
import { STAFF, mailKind, singleLine, type Route } from '@relais/shared';

/** Request and response shapes of the mail service: action params, HTTP routes and OpenAPI all come from here. */

export const personId = z.uuid({ message: 'must be a person id (UUID)' });

export const registerMailInput = z.strictObject({
  personId,
  kind: mailKind,
  quantity: z.number().int().min(1).max(1000).default(1),
  sender: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .refine(singleLine.check, singleLine.message)
    .optional()
    .meta({ examples: ['CAF'] }),
  note: z
    .string()
    .trim()
    .min(1)
    .max(2000)
    .optional()
    .meta({ examples: ['Lettre recommandée avec accusé de réception'] }),
});
export type RegisterMailInput = z.infer<typeof registerMailInput>;

/** A mail-room round: the mail of many people registered in one request. */
export const MAX_BATCH = 500;
export const registerBatchInput = z.strictObject({
  items: z
    .array(registerMailInput)
    .min(1, { message: 'must hold at least one item' })
    .max(MAX_BATCH, { message: `must hold at most ${MAX_BATCH} items; split the round` }),
});
export type RegisterBatchInput = z.infer<typeof registerBatchInput>;

export const getMailInput = z.strictObject({ mailItemId: z.uuid({ message: 'must be a mail item id (UUID)' }) });

export const listPersonMailInput = z.strictObject({ personId });

export const handOverInput = z
  .strictObject({
    personId,
    /** The items handed over; all pending items of the person when omitted. */
    mailItemIds: z
      .array(z.uuid({ message: 'must be a mail item id (UUID)' }))
      .min(1)
      .max(500)
      .optional(),
    /** Who took the mail: the person, or a proxy holding a power of attorney. */
    // The examples (API document only) form a pair the refinements below accept.
    to: z
      .enum(['person', 'proxy'])
      .default('person')
      .meta({ examples: ['proxy'] }),
    proxyName: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine(singleLine.check, singleLine.message)
      .optional()
      .meta({ examples: ['Marie Pierre'] }),
  })
  .refine((v) => v.to !== 'proxy' || v.proxyName, { message: 'is required when mail is handed to a proxy', path: ['proxyName'] })
  .refine((v) => v.to === 'proxy' || !v.proxyName, { message: 'only applies when mail is handed to a proxy', path: ['proxyName'] });
export type HandOverInput = z.infer<typeof handOverInput>;

export const dayInput = z.strictObject({
  date: z.iso.date({ message: 'must be a date (YYYY-MM-DD)' }),
});

export const mailItem = z.object({
  id: z.string(),
  personId: z.string(),
  kind: mailKind,
  quantity: z.number().int(),
  sender: z.string().optional(),
  note: z.string().optional(),
  status: z.enum(['pending', 'handedOver']),
  registeredAt: z.iso.datetime(),
  registeredBy: z.string(),
  handOver: z.object({ at: z.iso.datetime(), by: z.string(), to: z.enum(['person', 'proxy']), proxyName: z.string().optional() }).optional(),
});
export type MailItem = z.infer<typeof mailItem>;

const itemProblem = z.object({ status: z.number().int(), title: z.string(), detail: z.string() });
export const batchResult = z.object({
  registered: z.number().int(),
  refused: z.number().int(),
  /** One entry per item of the request, in its order: the registered item, or why it was refused. */
  results: z.array(
    z.union([
      z.object({ index: z.number().int(), outcome: z.literal('registered'), item: mailItem }),
      z.object({ index: z.number().int(), outcome: z.literal('refused'), problem: itemProblem }),
    ]),
  ),
});
export type BatchResult = z.infer<typeof batchResult>;

export const personMail = z.object({
  personId: z.string(),
  pending: z.object({ letter: z.number().int(), parcel: z.number().int(), deliveryNotice: z.number().int() }),
  items: z.array(mailItem),
});

export const handOverResult = z.object({ personId: z.string(), handedOver: z.array(mailItem) });

const kindTotals = z.object({ letter: z.number().int(), parcel: z.number().int(), deliveryNotice: z.number().int() });
export const dayRegistrations = z.object({
  date: z.string(),
  timeZone: z.string(),
  totals: kindTotals,
  items: z.array(mailItem),
});

export const routes: Route[] = [
  {
    method: 'post',
    path: '/v1/people/:personId/mail',
    action: 'mail.register',
    input: registerMailInput,
    output: mailItem,
    status: 201,
    roles: STAFF,
    idempotent: true,
    summary: 'Register postal mail received for a person',
    tag: 'Mail',
  },
  {
    method: 'post',
    path: '/v1/mail/batch',
    action: 'mail.registerBatch',
    input: registerBatchInput,
    output: batchResult,
    roles: STAFF,
    idempotent: true,
    summary:
      'Register a round of mail for many people at once (up to 500 items). Each item is registered or refused on its own ' +
      '(unknown person: 404, domiciliation not active: 409); a malformed item refuses the whole request (422) and registers nothing',
    tag: 'Mail',
  },
  {
    method: 'get',
    path: '/v1/mail/:mailItemId',
    action: 'mail.get',
    input: getMailInput,
    output: mailItem,
    roles: STAFF,
    summary: 'One mail item',
    tag: 'Mail',
  },
  {
    method: 'get',
    path: '/v1/people/:personId/mail',
    action: 'mail.listForPerson',
    input: listPersonMailInput,
    output: personMail,
    roles: STAFF,
    summary: "A person's mail: pending counts per kind and the items",
    tag: 'Mail',
  },
  {
    method: 'post',
    path: '/v1/people/:personId/mail/hand-over',
    action: 'mail.handOver',
    input: handOverInput,
    output: handOverResult,
    roles: STAFF,
    summary: "Hand over some or all of a person's pending mail (to the person or a proxy)",
    tag: 'Mail',
  },
  {
    method: 'get',
    path: '/v1/mail',
    action: 'mail.day',
    input: dayInput,
    output: dayRegistrations,
    roles: STAFF,
    summary: "The org's mail registrations of one day (in the org's time zone)",
    tag: 'Mail',
  },
];
