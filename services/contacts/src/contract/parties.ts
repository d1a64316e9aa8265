import { z } from 'zod';
import { STAFF, type Route } from '@relais/shared';
import { WRITERS, channelView, partyId } from './channels';
import { text } from './fields';
import { decodeCursor, searchWords } from './parsing';
import { screeningOverride } from './screening';
import { DEBTOR_ROLES, MAX_QUERY_WORDS, PARTY_KINDS } from './vocabulary';

// ---------------------------------------------------------------------------------------------
// Companies, and the file of any party: assignment and the debtors of a collections file (seed 002)

export const companyId = z.uuid({ message: 'must be a company id (UUID)' });

/** SIREN: 9 digits whose Luhn sum is a multiple of 10 (spaces allowed as typed). */
const siren = z
  .string()
  .overwrite((s) => s.replace(/\s+/g, ''))
  .regex(/^\d{9}$/, 'must be 9 digits')
  .refine((s) => !/^\d{9}$/.test(s) || luhn(s), 'is not a valid SIREN (its check digit does not match)')
  .describe('French company number (9 digits)');

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

const companyFields = {
  companyName: text(200)
    .describe('Raison sociale')
    .meta({ examples: ['Transports Hoarau SARL'] }),
  legalForm: text(50)
    .describe('SARL, SAS, association...')
    .meta({ examples: ['SARL'] }),
  siren: siren.meta({ examples: ['732829320'] }),
  customId: text(100)
    .describe('"Identifiant personnalisé": the org\'s own reference of the file, unique in the org')
    .meta({ examples: ['REC-2024-0107'] }),
};

export const createCompanyInput = z.strictObject({
  companyName: companyFields.companyName,
  legalForm: companyFields.legalForm.nullish(),
  siren: companyFields.siren.nullish(),
  customId: companyFields.customId.nullish(),
  screeningOverride: screeningOverride.optional(),
});
export type CreateCompanyInput = z.infer<typeof createCompanyInput>;

export const getCompanyInput = z.strictObject({ companyId });

export const updateCompanyInput = z.strictObject({
  companyId,
  companyName: companyFields.companyName.optional(),
  legalForm: companyFields.legalForm.nullable().optional(),
  siren: companyFields.siren.nullable().optional(),
  customId: companyFields.customId.nullable().optional(),
  screeningOverride: screeningOverride.optional(),
});
export type UpdateCompanyInput = z.infer<typeof updateCompanyInput>;

export const company = z.object({
  id: z.string(),
  kind: z.literal('company'),
  companyName: z.string(),
  legalForm: z.string().optional(),
  siren: z.string().optional(),
  customId: z.string().optional(),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  updatedAt: z.iso.datetime(),
  updatedBy: z.string(),
});
export type Company = z.infer<typeof company>;

const nameQuery = z
  .string()
  .max(100, 'must be at most 100 characters')
  .refine((s) => searchWords(s).length > 0, 'must contain a letter or a digit')
  .refine((s) => searchWords(s).length <= MAX_QUERY_WORDS, `must have at most ${MAX_QUERY_WORDS} words`);
const limit = z.coerce.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(20);
const cursor = z
  .string()
  .max(1000)
  .refine((c) => decodeCursor(c) !== null, 'is not a cursor returned by a previous search')
  .optional()
  .describe('nextCursor of the previous page');

export const searchPartiesInput = z.strictObject({
  kind: z.enum(PARTY_KINDS, { error: 'must be person or company' }).optional(),
  name: nameQuery.optional().describe('Beginning of a name (last, first, usage or company name), case and accents ignored; each word must match'),
  assignedTo: z.string().max(100).optional().describe('Files assigned to this user id; "me" for the caller, "nobody" for files assigned to no one'),
  limit,
  cursor,
});
export type SearchPartiesInput = z.infer<typeof searchPartiesInput>;

export const getPartyInput = z.strictObject({ partyId });

export const debtorRole = z.enum(DEBTOR_ROLES, { error: 'must be coDebtor or guarantor' });

/** One line of a list of parties: enough to show and open it. */
export const partySummary = z.object({
  id: z.string(),
  kind: z.enum(PARTY_KINDS),
  name: z.string(),
  customId: z.string().optional(),
  assignedTo: z.string().nullable(),
});

export const partiesPage = z.object({ items: z.array(partySummary), nextCursor: z.string().nullable() });

/** A party's file: who it is, who it is assigned to, the other debtors of its collections file and the file's defaults. */
export const partyFile = partySummary.extend({
  /** The file this party is a debtor on (then that file holds the assignment and the defaults), else null. */
  debtorOf: z.object({ partyId: z.string(), name: z.string(), role: debtorRole }).nullable(),
  debtors: z.array(
    z.object({ partyId: z.string(), kind: z.enum(PARTY_KINDS), name: z.string(), role: debtorRole, addedAt: z.iso.datetime(), addedBy: z.string() }),
  ),
  /** The default phone, e-mail and postal address across every debtor of the file: proposed for every action on it. */
  defaults: z.object({ phone: channelView.nullable(), email: channelView.nullable(), postal: channelView.nullable() }),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const assignInput = z
  .strictObject({
    partyId,
    userId: z.string().min(1).max(100).nullable().describe('A user of the org; null to assign the file to nobody'),
  })
  .meta({ examples: [{ userId: '5f0c7a2e-2b1d-4c8e-9a57-3d6f1b2c4e8a' }] });

export const assignmentHistory = z.object({
  assignedTo: z.string().nullable(),
  items: z.array(z.object({ assignedTo: z.string().nullable(), previous: z.string().nullable(), at: z.iso.datetime(), by: z.string() })),
});

export const addDebtorInput = z
  .strictObject({ partyId, debtorId: partyId.describe('The person or company to add'), role: debtorRole })
  .meta({ examples: [{ debtorId: '0b7e2f52-8a61-4f7c-9d3e-51a2c6e4b9f0', role: 'guarantor' }] });

export const debtorRefInput = z.strictObject({ partyId, debtorId: partyId });

export const partyRoutes: Route[] = [
  {
    method: 'post',
    path: '/v1/companies',
    action: 'contacts.createCompany',
    input: createCompanyInput,
    output: company,
    status: 201,
    roles: STAFF,
    idempotent: true,
    summary: "Open a company's file",
    description:
      'A company is a party like a person: it has channels, an assignee, notes and attachments, and can be a debtor on a collections file. ' +
      'Every staff role. Its name is screened against the asset-freeze register: a potential match is refused with a 409 naming the candidates, ' +
      'unless a manager or admin gives screeningOverride (403 for other roles).',
    tag: 'Companies',
  },
  {
    method: 'get',
    path: '/v1/companies/:companyId',
    action: 'contacts.getCompany',
    input: getCompanyInput,
    output: company,
    roles: STAFF,
    summary: "A company's file",
    tag: 'Companies',
  },
  {
    method: 'patch',
    path: '/v1/companies/:companyId',
    action: 'contacts.updateCompany',
    input: updateCompanyInput,
    output: company,
    roles: STAFF,
    summary: 'Change a company (fields left out are kept; null clears an optional field)',
    description:
      'Every staff role. A change of the name is screened against the asset-freeze register as at creation (409 unless a manager or admin overrides).',
    tag: 'Companies',
  },
  {
    method: 'get',
    path: '/v1/parties',
    action: 'contacts.searchParties',
    input: searchPartiesInput,
    output: partiesPage,
    roles: STAFF,
    summary: 'People and companies, sorted by name: by kind, by the beginning of a name, by assignee ("me", "nobody" or a user id)',
    tag: 'Files',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId',
    action: 'contacts.getFile',
    input: getPartyInput,
    output: partyFile,
    roles: STAFF,
    summary: "A party's file: its assignee, the debtors of its collections file and the file's default channels",
    tag: 'Files',
  },
  {
    method: 'put',
    path: '/v1/parties/:partyId/assignment',
    action: 'contacts.assignFile',
    input: assignInput,
    output: assignmentHistory,
    roles: WRITERS,
    summary: 'Assign the file to a collaborator of the org (or to nobody)',
    description:
      'The user must belong to the org and be active (else 422). A debtor on another file follows that file (409). Caseworkers, managers and admins.',
    tag: 'Files',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/assignment',
    action: 'contacts.assignmentHistory',
    input: getPartyInput,
    output: assignmentHistory,
    roles: STAFF,
    summary: 'Who the file is assigned to, and every change of it, newest first',
    tag: 'Files',
  },
  {
    method: 'post',
    path: '/v1/parties/:partyId/debtors',
    action: 'contacts.addDebtor',
    input: addDebtorInput,
    output: partyFile,
    status: 201,
    roles: WRITERS,
    summary: 'Add a co-debtor or a guarantor (a person or company of the org) to this collections file',
    description:
      'A party is a debtor on one file at most; a file with debtors is not a debtor elsewhere (409). From then on the default of each channel kind ' +
      'is one across the file. Adding one already there with the same role changes nothing. Caseworkers, managers and admins.',
    tag: 'Files',
  },
  {
    method: 'delete',
    path: '/v1/parties/:partyId/debtors/:debtorId',
    action: 'contacts.removeDebtor',
    input: debtorRefInput,
    output: partyFile,
    roles: WRITERS,
    summary: 'Take a debtor off this collections file (the party and its channels stay)',
    description: 'Caseworkers, managers and admins.',
    tag: 'Files',
  },
];
