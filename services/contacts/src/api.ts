import { z } from 'zod';
import { STAFF, type Role, type Route } from '@relais/shared';
import { EMAIL_TYPES, PHONE_TYPES } from './domain/channels';
import { canonicalLanguage } from './domain/people';
import { EVIDENCE_KINDS, INVALID_REASONS, QUALIFICATION_STATES } from './domain/qualification';
import { MAX_QUERY_WORDS, decodeCursor, searchWords } from './domain/search';

/** Request and response shapes of the contacts service: action params, HTTP routes and OpenAPI all come from here. */

export const personId = z.uuid({ message: 'must be a person id (UUID)' });

export const SEXES = ['female', 'male', 'unspecified'] as const;
export const sex = z.enum(SEXES, { error: 'must be female, male or unspecified' });
export type Sex = z.infer<typeof sex>;

/** Free text of a form field: trimmed, inner runs of spaces (line breaks, tabs) made one. Control characters are refused by the boundary rule on text (shared). */
const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === null ? 'cannot be empty' : undefined) })
    .overwrite((s) => s.trim().replace(/\s+/g, ' '))
    .min(1, 'cannot be empty')
    .max(max, `must be at most ${max} characters`);

const birthDate = z.iso.date({ message: 'must be a date (YYYY-MM-DD)' });

const spokenLanguage = z
  .string()
  .trim()
  .toLowerCase()
  .overwrite((s) => canonicalLanguage(s) ?? s)
  .refine((s) => canonicalLanguage(s) !== null, 'must be an ISO 639 language code, e.g. fr, ar or rcf')
  .describe('ISO 639-1 code (fr, ar, ht), or ISO 639-3 for languages without one (rcf: Réunion Creole, swb: Shimaore)');

const customId = text(100).describe('"Identifiant personnalisé": the org\'s own reference of the file, unique in the org');

/** Civil status fields; optional ones accept null for "not known". Examples are for the API document only. */
const civilStatus = {
  lastName: text(100).meta({ examples: ['Pierre'] }),
  firstName: text(100).meta({ examples: ['Lucas'] }),
  usageName: text(100).describe("Nom d'usage or nickname").meta({ examples: ['Luc'] }),
  sex: sex.meta({ examples: ['male'] }),
  birthDate: birthDate.describe('YYYY-MM-DD, from 1900-01-01 to today').meta({ examples: ['1987-03-14'] }),
  birthPlace: text(200).meta({ examples: ['Saint-Denis (La Réunion)'] }),
  // A sampler cannot know which codes canonicalLanguage accepts.
  spokenLanguage: spokenLanguage.meta({ examples: ['fr'] }),
  customId: customId.meta({ examples: ['DOM-2024-0042'] }),
};

export const createPersonInput = z.strictObject({
  lastName: civilStatus.lastName,
  firstName: civilStatus.firstName,
  usageName: civilStatus.usageName.nullish(),
  sex: civilStatus.sex.default('unspecified'),
  birthDate: civilStatus.birthDate.nullish(),
  birthPlace: civilStatus.birthPlace.nullish(),
  spokenLanguage: civilStatus.spokenLanguage.nullish(),
  customId: civilStatus.customId.nullish(),
});
export type CreatePersonInput = z.infer<typeof createPersonInput>;

export const getPersonInput = z.strictObject({ personId });

/** A partial update: absent fields are kept, null clears an optional field. */
export const updatePersonInput = z.strictObject({
  personId,
  lastName: civilStatus.lastName.optional(),
  firstName: civilStatus.firstName.optional(),
  usageName: civilStatus.usageName.nullable().optional(),
  sex: civilStatus.sex.optional(),
  birthDate: civilStatus.birthDate.nullable().optional(),
  birthPlace: civilStatus.birthPlace.nullable().optional(),
  spokenLanguage: civilStatus.spokenLanguage.nullable().optional(),
  customId: civilStatus.customId.nullable().optional(),
});
export type UpdatePersonInput = z.infer<typeof updatePersonInput>;

export const searchPeopleInput = z.strictObject({
  name: z
    .string()
    .max(100, 'must be at most 100 characters')
    .refine((s) => searchWords(s).length > 0, 'must contain a letter or a digit')
    .refine((s) => searchWords(s).length <= MAX_QUERY_WORDS, `must have at most ${MAX_QUERY_WORDS} words`)
    .optional()
    .describe('Beginning of the last, first or usage name, case and accents ignored; each word must match ("pier", "dupont jea")'),
  customId: customId.optional(),
  birthDate: birthDate.optional(),
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  cursor: z
    .string()
    .max(1000)
    .refine((c) => decodeCursor(c) !== null, 'is not a cursor returned by a previous search')
    .optional()
    .describe('nextCursor of the previous page'),
});
export type SearchPeopleInput = z.infer<typeof searchPeopleInput>;

export const person = z.object({
  id: z.string(),
  kind: z.literal('person'),
  lastName: z.string(),
  firstName: z.string(),
  usageName: z.string().optional(),
  sex,
  birthDate: z.string().optional(),
  birthPlace: z.string().optional(),
  spokenLanguage: z.string().optional(),
  customId: z.string().optional(),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  updatedAt: z.iso.datetime(),
  updatedBy: z.string(),
});
export type Person = z.infer<typeof person>;

export const peoplePage = z.object({
  items: z.array(person),
  /** Pass it as `cursor` to read the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});

// ---------------------------------------------------------------------------------------------
// Contact channels (seeds 000 and 002)

/** Agents read the channels; caseworkers and above change them. */
export const CHANNEL_WRITERS: readonly Role[] = ['admin', 'manager', 'caseworker'];

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
const address = z
  .union([z.string().max(320, 'must be at most 320 characters'), postalAddressInput], { error: 'must be an e-mail address or a postal address' })
  .describe('e-mail: the address; postal: the address lines');
const observation = z
  .string()
  .max(500, 'must be at most 500 characters')
  .describe("The contact's function (comptable, DAF) or other objective information the person may read");
const acknowledgedTerms = z
  .array(z.string().max(100))
  .max(50)
  .describe('Terms of the observation warning the user confirmed (the `term` of each warning), to save it as it is');

type ChannelFields = { kind?: string; type?: string; number?: string; address?: unknown };
/** Which fields each kind of channel takes: a phone a type and a number, an e-mail a type and an address, a postal address its lines. */
function kindFields(v: ChannelFields, ctx: z.RefinementCtx, kind: string | undefined) {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (kind === 'phone') {
    if (v.number === undefined) issue('number', 'is required for a phone');
    if (v.address !== undefined) issue('address', 'does not apply to a phone');
    if (v.type !== undefined && !(PHONE_TYPES as readonly string[]).includes(v.type)) issue('type', 'must be mobile, private or professional');
  } else if (kind === 'email') {
    if (typeof v.address !== 'string') issue('address', 'is required for an e-mail: the address');
    if (v.number !== undefined) issue('number', 'does not apply to an e-mail address');
    if (v.type !== undefined && !(EMAIL_TYPES as readonly string[]).includes(v.type)) issue('type', 'must be private or professional');
  } else if (kind === 'postal') {
    if (v.address === undefined || typeof v.address === 'string') issue('address', 'is required for a postal address: its lines');
    if (v.number !== undefined) issue('number', 'does not apply to a postal address');
    if (v.type !== undefined) issue('type', 'does not apply to a postal address');
  }
}

export const listChannelsInput = z.strictObject({
  personId,
  showInvalid: z.stringbool({ error: 'must be true or false' }).default(false).describe('Also list the invalid channels, marked `invalid`'),
});

export const addChannelInput = z
  .strictObject({
    personId,
    kind: z.enum(['phone', 'email', 'postal'], { error: 'must be phone, email or postal' }),
    type: channelType.optional(),
    number: number.optional(),
    address: address.optional(),
    observation: observation.optional(),
    acknowledgedTerms: acknowledgedTerms.optional(),
  })
  .superRefine((v, ctx) => {
    kindFields(v, ctx, v.kind);
    if (v.kind !== 'postal' && v.type === undefined) ctx.addIssue({ code: 'custom', path: ['type'], message: `is required for ${v.kind === 'phone' ? 'a phone' : 'an e-mail'}` });
  })
  .meta({ examples: [{ kind: 'phone', type: 'mobile', number: '0692 12 34 56', observation: 'Comptable' }] });
export type AddChannelInput = z.infer<typeof addChannelInput>;

export const changeChannelInput = z
  .strictObject({
    personId,
    channelId,
    /** Only to say what the new value is; a channel never changes kind. */
    kind: z.enum(['phone', 'email', 'postal'], { error: 'must be phone, email or postal' }).optional(),
    type: channelType.optional(),
    number: number.optional(),
    address: address.optional(),
    observation: observation.nullable().optional().describe('null clears it'),
    acknowledgedTerms: acknowledgedTerms.optional(),
  })
  .superRefine((v, ctx) => {
    const kind = v.kind ?? (v.number !== undefined ? 'phone' : typeof v.address === 'string' ? 'email' : v.address !== undefined ? 'postal' : undefined);
    // Without a kind, a type alone applies to the channel's own value.
    if (kind !== undefined && (v.number !== undefined || v.address !== undefined)) kindFields(v, ctx, kind);
  })
  .meta({ examples: [{ type: 'professional', observation: 'DAF' }] });
export type ChangeChannelInput = z.infer<typeof changeChannelInput>;

export const channelRefInput = z.strictObject({ personId, channelId });

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
    personId,
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
  kind: z.enum(['phone', 'email', 'postal']),
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

export const routes: Route[] = [
  {
    method: 'post',
    path: '/v1/people',
    action: 'contacts.createPerson',
    input: createPersonInput,
    output: person,
    status: 201,
    roles: STAFF,
    summary: "Open a person's file with their civil status",
    tag: 'People',
  },
  {
    method: 'get',
    path: '/v1/people/:personId',
    action: 'contacts.getPerson',
    input: getPersonInput,
    output: person,
    roles: STAFF,
    summary: "A person's file",
    tag: 'People',
  },
  {
    method: 'patch',
    path: '/v1/people/:personId',
    action: 'contacts.updatePerson',
    input: updatePersonInput,
    output: person,
    roles: STAFF,
    summary: "Change a person's civil status (fields left out are kept; null clears an optional field)",
    tag: 'People',
  },
  {
    method: 'get',
    path: '/v1/people',
    action: 'contacts.searchPeople',
    input: searchPeopleInput,
    output: peoplePage,
    roles: STAFF,
    summary: 'Find people by the beginning of a name, by customId or by birth date, sorted by last and first name',
    tag: 'People',
  },
  {
    method: 'get',
    path: '/v1/people/:personId/channels',
    action: 'contacts.listChannels',
    input: listChannelsInput,
    output: channelList,
    roles: STAFF,
    summary: "A person's phones, e-mail addresses and postal addresses: phones first, the primary starred",
    description: 'Invalid channels are listed only with showInvalid=true, then marked invalid. Every staff role may read them.',
    tag: 'Contact channels',
  },
  {
    method: 'post',
    path: '/v1/people/:personId/channels',
    action: 'contacts.addChannel',
    input: addChannelInput,
    output: channelView,
    status: 201,
    roles: CHANNEL_WRITERS,
    idempotent: true,
    summary: 'Add a phone, e-mail address or postal address, pending qualification',
    description:
      'The first phone or e-mail becomes the primary. The same value twice is a 409; a landline as a mobile, a 422. An observation ' +
      'with sensitive terms is refused (422, one error per term) unless acknowledgedTerms confirms each. Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'patch',
    path: '/v1/people/:personId/channels/:channelId',
    action: 'contacts.changeChannel',
    input: changeChannelInput,
    output: channelView,
    roles: CHANNEL_WRITERS,
    summary: "Change a channel's value, type or observation",
    description: 'A new number or address sends the channel back to pending qualification, recorded in its history. Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'delete',
    path: '/v1/people/:personId/channels/:channelId',
    action: 'contacts.removeChannel',
    input: channelRefInput,
    output: channelList,
    roles: CHANNEL_WRITERS,
    summary: 'Remove a channel (kept in the file as removed, with who and when)',
    description: "Refused (409) for the file's last phone or e-mail that is not invalid. Removing the primary stars its successor. Caseworkers, managers and admins.",
    tag: 'Contact channels',
  },
  {
    method: 'put',
    path: '/v1/people/:personId/channels/:channelId/primary',
    action: 'contacts.setPrimaryChannel',
    input: channelRefInput,
    output: channelList,
    roles: CHANNEL_WRITERS,
    summary: 'Make a phone or e-mail the primary channel (the star)',
    description: 'Postal addresses and invalid channels cannot be (409). Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'post',
    path: '/v1/people/:personId/channels/:channelId/qualification',
    action: 'contacts.qualifyChannel',
    input: qualifyChannelInput,
    output: channelView,
    roles: CHANNEL_WRITERS,
    summary: 'Validate (with evidence), mark invalid (with a reason), cancel, or make the default of its kind',
    description:
      'Replacing the default of the same kind needs confirm: true, else a 409 names it. Marking the last phone or e-mail invalid is a 409. ' +
      'Caseworkers, managers and admins.',
    tag: 'Contact channels',
  },
  {
    method: 'get',
    path: '/v1/people/:personId/channels/:channelId/history',
    action: 'contacts.channelHistory',
    input: channelRefInput,
    output: channelHistory,
    roles: STAFF,
    summary: "A channel's qualification history, newest first",
    description: 'Every staff role may read it.',
    tag: 'Contact channels',
  },
];
