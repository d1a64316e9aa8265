import { z } from 'zod';
import { STAFF, type Role, type Route } from '@relais/shared';
import { CHANNEL_KINDS, EMAIL_TYPES, EVIDENCE_KINDS, INVALID_REASONS, PHONE_TYPES, QUALIFICATION_STATES } from './vocabulary';

// ---------------------------------------------------------------------------------------------
// Contact channels (seeds 000 and 002)

/** Agents read a file; caseworkers and above change it. */
export const WRITERS: readonly Role[] = ['admin', 'manager', 'caseworker'];

export const partyId = z.uuid({ message: "must be a party id (UUID): a person's or a company's" });
export const channelId = z.uuid({ message: 'must be a channel id (UUID)' });

const postalAddressInput = z.strictObject({
  street: z.string().max(200, 'must be at most 200 characters'),
  complement: z.string().max(200, 'must be at most 200 characters').nullish(),
  locality: z.string().max(200, 'must be at most 200 characters').nullish(),
  postalCode: z.string().max(20, 'must be at most 20 characters').nullish(),
  city: z.string().max(100, 'must be at most 100 characters'),
  country: z.string().max(10, 'must be at most 10 characters').nullish().describe("ISO 3166 code; the org's country by default"),
});

const channelType = z
  .enum([...new Set([...PHONE_TYPES, ...EMAIL_TYPES])] as [string, ...string[]], { error: 'must be mobile, private or professional' })
  .describe('phone: mobile, private or professional; e-mail: private or professional');
const number = z.string().max(40, 'must be at most 40 characters').describe('phone: the number as typed, national or international');
const email = z.string().max(320, 'must be at most 320 characters').describe('e-mail: the address');
const address = postalAddressInput.describe('postal: the address lines');
const observation = z
  .string()
  .max(500, 'must be at most 500 characters')
  .describe("The contact's function (comptable, DAF) or other objective information the person may read");
const acknowledgedTerms = z
  .array(z.string().max(100))
  .max(50)
  .describe('Terms of the observation warning the user confirmed (the `term` of each warning), to save it as it is');

type ChannelFields = { kind?: string; type?: string; number?: string; email?: string; address?: unknown };
/** Which fields each kind of channel takes: a phone a type and a number, an e-mail a type and an address, a postal address its lines. */
function kindFields(v: ChannelFields, ctx: z.RefinementCtx, kind: string | undefined) {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (kind === 'phone') {
    if (v.number === undefined) issue('number', 'is required for a phone');
    if (v.email !== undefined) issue('email', 'does not apply to a phone');
    if (v.address !== undefined) issue('address', 'does not apply to a phone');
    if (v.type !== undefined && !(PHONE_TYPES as readonly string[]).includes(v.type)) issue('type', 'must be mobile, private or professional');
  } else if (kind === 'email') {
    if (v.email === undefined) issue('email', 'is required for an e-mail: the address');
    if (v.number !== undefined) issue('number', 'does not apply to an e-mail address');
    if (v.address !== undefined) issue('address', 'does not apply to an e-mail address: give it as email');
    if (v.type !== undefined && !(EMAIL_TYPES as readonly string[]).includes(v.type)) issue('type', 'must be private or professional');
  } else if (kind === 'postal') {
    if (v.address === undefined) issue('address', 'is required for a postal address: its lines');
    if (v.number !== undefined) issue('number', 'does not apply to a postal address');
    if (v.email !== undefined) issue('email', 'does not apply to a postal address');
    if (v.type !== undefined) issue('type', 'does not apply to a postal address');
  }
}

export const listChannelsInput = z.strictObject({
  partyId,
  showInvalid: z.stringbool({ error: 'must be true or false' }).default(false).describe('Also list the invalid channels, marked `invalid`'),
  file: z
    .stringbool({ error: 'must be true or false' })
    .default(false)
    .describe("Every debtor's channels on the party's collections file, each with its partyId (the file's defaults hold across them)"),
});

export const addChannelInput = z
  .strictObject({
    partyId,
    kind: z.enum(CHANNEL_KINDS, { error: 'must be phone, email or postal' }),
    type: channelType.optional(),
    number: number.optional(),
    email: email.optional(),
    address: address.optional(),
    observation: observation.optional(),
    acknowledgedTerms: acknowledgedTerms.optional(),
  })
  .superRefine((v, ctx) => {
    kindFields(v, ctx, v.kind);
    if (v.kind !== 'postal' && v.type === undefined)
      ctx.addIssue({ code: 'custom', path: ['type'], message: `is required for ${v.kind === 'phone' ? 'a phone' : 'an e-mail'}` });
  })
  .meta({ examples: [{ kind: 'phone', type: 'mobile', number: '0692 12 34 56', observation: 'Comptable' }] });
export type AddChannelInput = z.infer<typeof addChannelInput>;

export const changeChannelInput = z
  .strictObject({
    partyId,
    channelId,
    /** Only to say what the new value is; a channel never changes kind. */
    kind: z.enum(CHANNEL_KINDS, { error: 'must be phone, email or postal' }).optional(),
    type: channelType.optional(),
    number: number.optional(),
    email: email.optional(),
    address: address.optional(),
    observation: observation.nullable().optional().describe('null clears it'),
    acknowledgedTerms: acknowledgedTerms.optional(),
  })
  .superRefine((v, ctx) => {
    const kind = v.kind ?? (v.number !== undefined ? 'phone' : v.email !== undefined ? 'email' : v.address !== undefined ? 'postal' : undefined);
    // Without a kind, a type alone applies to the channel's own value.
    if (kind !== undefined && (v.number !== undefined || v.email !== undefined || v.address !== undefined)) kindFields(v, ctx, kind);
  })
  .meta({ examples: [{ type: 'professional', observation: 'DAF' }] });
export type ChangeChannelInput = z.infer<typeof changeChannelInput>;

export const channelRefInput = z.strictObject({ partyId, channelId });

export const removeChannelInput = z.strictObject({
  partyId,
  channelId,
  erase: z
    .stringbool({ error: 'must be true or false' })
    .default(false)
    .describe('Admins only: erase the channel for good, its value and history included (the erasure itself is kept, without the value)'),
  reason: z.string().max(500, 'must be at most 500 characters').optional().describe('Why it is removed or erased, kept with the removal'),
});

const evidenceInput = z.strictObject({
  kind: z.enum(EVIDENCE_KINDS, { error: `must be one of ${EVIDENCE_KINDS.join(', ')}` }),
  note: z.string().max(500, 'must be at most 500 characters').optional(),
  ref: z.string().max(200, 'must be at most 200 characters').optional().describe('What it came from: a delivery or exchange id'),
  occurredAt: z.iso.datetime({ message: 'must be a date-time (ISO 8601)' }).optional(),
});
const invalidityInput = z.strictObject({
  reason: z.enum(INVALID_REASONS, { error: `must be one of ${INVALID_REASONS.join(', ')}` }),
  note: z.string().max(500, 'must be at most 500 characters').optional().describe('Required with the reason `other`'),
  ref: z.string().max(200, 'must be at most 200 characters').optional(),
  occurredAt: z.iso.datetime({ message: 'must be a date-time (ISO 8601)' }).optional(),
});

export const qualifyChannelInput = z
  .strictObject({
    partyId,
    channelId,
    action: z.enum(['validate', 'invalidate', 'cancel', 'setDefault'], { error: 'must be validate, invalidate, cancel or setDefault' }),
    evidence: evidenceInput.optional().describe('validate: what shows that the channel works'),
    invalidity: invalidityInput.optional().describe('invalidate: what shows that it does not'),
    confirm: z.boolean().optional().describe('setDefault: "Oui" to replacing the current default of the same kind'),
  })
  .superRefine((v, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (v.action === 'validate' && !v.evidence) issue('evidence', 'is required to validate a channel');
    if (v.action !== 'validate' && v.evidence) issue('evidence', 'only applies to validate');
    if (v.action === 'invalidate' && !v.invalidity) issue('invalidity', 'is required to mark a channel invalid');
    if (v.action !== 'invalidate' && v.invalidity) issue('invalidity', 'only applies to invalidate');
    if (v.action !== 'setDefault' && v.confirm !== undefined) issue('confirm', 'only applies to setDefault');
  })
  .meta({ examples: [{ action: 'validate', evidence: { kind: 'outboundCall', note: 'Spoke to Mrs Hoarau' } }] });
export type QualifyChannelInput = z.infer<typeof qualifyChannelInput>;

const qualificationState = z.enum(QUALIFICATION_STATES);

export const channelView = z.object({
  id: z.string(),
  partyId: z.string(),
  kind: z.enum(CHANNEL_KINDS),
  type: z.string().optional(),
  /** As people read it. */
  display: z.string(),
  phone: z.object({ e164: z.string(), region: z.string(), raw: z.string(), lineType: z.string() }).optional(),
  email: z.string().optional(),
  address: z
    .object({
      street: z.string(),
      complement: z.string().optional(),
      locality: z.string().optional(),
      postalCode: z.string().optional(),
      city: z.string(),
      country: z.string(),
    })
    .optional(),
  observation: z.string().optional(),
  state: qualificationState,
  invalid: z.boolean(),
  primary: z.boolean(),
  isDefault: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type ChannelViewOutput = z.infer<typeof channelView>;

export const channelList = z.object({ primaryChannelId: z.string().nullable(), items: z.array(channelView) });

const causeView = z.object({ note: z.string().optional(), ref: z.string().optional(), occurredAt: z.iso.datetime().optional() });
export const channelHistory = z.object({
  items: z.array(
    z.object({
      at: z.iso.datetime(),
      by: z.string(),
      automatic: z.boolean(),
      action: z.enum(['validate', 'invalidate', 'cancel', 'setDefault', 'defaultReplaced', 'valueChanged']),
      from: qualificationState,
      to: qualificationState,
      evidence: causeView.extend({ kind: z.enum(EVIDENCE_KINDS) }).optional(),
      invalidity: causeView.extend({ reason: z.enum(INVALID_REASONS) }).optional(),
      otherChannelId: z.string().optional(),
      summary: z.string(),
    }),
  ),
});

export const channelRoutes: Route[] = [
  {
    method: 'get',
    path: '/v1/parties/:partyId/channels',
    action: 'contacts.listChannels',
    input: listChannelsInput,
    output: channelList,
    roles: STAFF,
    summary: "A party's phones, e-mail addresses and postal addresses: phones first, the primary starred",
    description: 'Invalid channels are listed only with showInvalid=true, then marked invalid. Every staff role may read them.',
    tag: 'Contact channels',
  },
  {
    method: 'post',
    path: '/v1/parties/:partyId/channels',
    action: 'contacts.addChannel',
    input: addChannelInput,
    output: channelView,
    status: 201,
    roles: WRITERS,
    idempotent: true,
    summary: 'Add a phone, e-mail address or postal address, pending qualification',
    description:
      'The first phone or e-mail becomes the primary. The same value twice is a 409; a landline as a mobile, a 422. An observation ' +
      'with sensitive terms is refused (422, one error per term) unless acknowledgedTerms confirms each. Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'patch',
    path: '/v1/parties/:partyId/channels/:channelId',
    action: 'contacts.changeChannel',
    input: changeChannelInput,
    output: channelView,
    roles: WRITERS,
    summary: "Change a channel's value, type or observation",
    description: 'A new number or address sends the channel back to pending qualification, recorded in its history. Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'delete',
    path: '/v1/parties/:partyId/channels/:channelId',
    action: 'contacts.removeChannel',
    input: removeChannelInput,
    output: channelList,
    roles: WRITERS,
    summary: 'Remove a channel (kept in the file as removed, with who and when)',
    description:
      "Refused (409) for the file's last phone or e-mail that is not invalid. Removing the primary stars its successor. Caseworkers, managers and admins; " +
      'erase=true (admins only) deletes it physically, recorded without its value.',
    tag: 'Contact channels',
  },
  {
    method: 'put',
    path: '/v1/parties/:partyId/channels/:channelId/primary',
    action: 'contacts.setPrimaryChannel',
    input: channelRefInput,
    output: channelList,
    roles: WRITERS,
    summary: 'Make a phone or e-mail the primary channel (the star)',
    description: 'Postal addresses and invalid channels cannot be (409). Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'post',
    path: '/v1/parties/:partyId/channels/:channelId/qualification',
    action: 'contacts.qualifyChannel',
    input: qualifyChannelInput,
    output: channelView,
    roles: WRITERS,
    summary: 'Validate (with evidence), mark invalid (with a reason), cancel, or make the default of its kind',
    description:
      'Replacing the default of the same kind needs confirm: true, else a 409 names it. Marking the last phone or e-mail invalid is a 409. ' +
      'Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/channels/:channelId/history',
    action: 'contacts.channelHistory',
    input: channelRefInput,
    output: channelHistory,
    roles: STAFF,
    summary: "A channel's qualification history, newest first",
    description: 'Every staff role may read it.',
    tag: 'Contact channels',
  },
];
