import { z } from 'zod';
import { STAFF, type Route } from '@relais/shared';
import { text } from './fields';
import { canonicalLanguage, decodeCursor, searchWords } from './parsing';
import { screeningOverride } from './screening';
import { MAX_QUERY_WORDS } from './vocabulary';

/** People: civil status and search (seed 001). */

export const personId = z.uuid({ message: 'must be a person id (UUID)' });

export const SEXES = ['female', 'male', 'unspecified'] as const;
export const sex = z.enum(SEXES, { error: 'must be female, male or unspecified' });
export type Sex = z.infer<typeof sex>;

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
  usageName: text(100)
    .describe("Nom d'usage or nickname")
    .meta({ examples: ['Luc'] }),
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
  screeningOverride: screeningOverride.optional(),
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
  screeningOverride: screeningOverride.optional(),
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

export const peopleRoutes: Route[] = [
  {
    method: 'post',
    path: '/v1/people',
    action: 'contacts.createPerson',
    input: createPersonInput,
    output: person,
    status: 201,
    roles: STAFF,
    summary: "Open a person's file with their civil status",
    description:
      'Every staff role. The name and birth date are screened against the asset-freeze register: a potential match is refused with a 409 naming ' +
      'the candidates, unless a manager or admin gives screeningOverride (403 for other roles). Each check is logged (GET /v1/parties/{partyId}/screening).',
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
    description:
      'Every staff role. A change of the names or birth date is screened against the asset-freeze register as at creation ' +
      '(409 on a potential match unless a manager or admin gives screeningOverride).',
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
];
