import { encodeCursor, type AuthContext } from '@relais/shared';
import { customIdKey, customIdLookup, patched, type PartyBase } from './parties';
import type { CreatePersonInput, SearchPeopleInput, Sex, UpdatePersonInput } from '../api';
import { decodeCursor, searchWords } from '../contract/parsing';
import { SEARCH_VERSION, nameFilter, partySearchKeys, sortKey } from './search';

export type { PartyBase, RemovedChannel } from './parties';

/** Civil status ("État civil", seed 001). */
export interface CivilStatus {
  lastName: string;
  firstName: string;
  usageName?: string;
  sex: Sex;
  /** YYYY-MM-DD: a calendar date, never shifted by a time zone. */
  birthDate?: string;
  birthPlace?: string;
  /** ISO 639 code: the 639-1 code when the language has one, else its 639-3 code (rcf, swb). */
  spokenLanguage?: string;
}

export interface PersonDoc extends PartyBase, CivilStatus {
  kind: 'person';
}

const OPTIONAL_FIELDS = ['usageName', 'birthDate', 'birthPlace', 'spokenLanguage', 'customId'] as const;
const FIELDS = ['lastName', 'firstName', 'sex', ...OPTIONAL_FIELDS] as const;

export const EARLIEST_BIRTH_DATE = '1900-01-01';

/** Why a birth date cannot be right, or null. `today` is the org's calendar date (YYYY-MM-DD). */
export function birthDateProblem(birthDate: string, today: string): string | null {
  if (birthDate < EARLIEST_BIRTH_DATE) return `must be on or after ${EARLIEST_BIRTH_DATE}`;
  if (birthDate > today) return 'cannot be in the future';
  return null;
}

/** Derived fields kept in step with the civil status and customId. */
function derived(doc: Pick<PersonDoc, '_id' | 'lastName' | 'firstName' | 'usageName' | 'customId'>) {
  return {
    customIdKey: customIdKey(doc.customId, doc._id),
    searchKeys: partySearchKeys({ ...doc, kind: 'person' }),
    searchVersion: SEARCH_VERSION,
    sortKey: sortKey(doc.lastName, doc.firstName, doc._id),
  };
}

/** A new person's file. Pure: the id and the clock come from the caller. */
export function newPerson(input: CreatePersonInput, auth: AuthContext, id: string, now: Date): PersonDoc {
  const base = { _id: id, lastName: input.lastName, firstName: input.firstName };
  const optional = Object.fromEntries(OPTIONAL_FIELDS.flatMap((f) => (input[f] == null ? [] : [[f, input[f]]])));
  return {
    ...base,
    orgId: auth.orgId,
    kind: 'person',
    sex: input.sex,
    ...optional,
    ...derived({ ...base, ...optional }),
    revision: 1,
    createdAt: now,
    createdBy: auth.userId,
    updatedAt: now,
    updatedBy: auth.userId,
  };
}

export type PersonChanges = Omit<UpdatePersonInput, 'personId'>;

/**
 * The person after a partial update: absent fields are kept, null clears an optional field.
 * Returns null when nothing changes, so no write (and no new revision) is made. Pure.
 */
export function applyChanges(current: PersonDoc, changes: PersonChanges, auth: AuthContext, now: Date): PersonDoc | null {
  const person = patched(current, changes, FIELDS);
  if (!person) return null;
  return {
    ...person,
    ...derived(person),
    revision: current.revision + 1,
    updatedAt: now,
    updatedBy: auth.userId,
  };
}

/** The stored-field filter of a people search (the repository adds the org). */
export interface PeopleQuery {
  filter: Record<string, unknown>;
  /** Documents to read: one more than the page, to know whether another page follows. */
  read: number;
  limit: number;
}

/** Builds a search from validated criteria (the cursor was checked by the input schema); every criterion narrows it. Pure. */
export function peopleQuery(input: SearchPeopleInput): PeopleQuery {
  const after = input.cursor === undefined ? undefined : (decodeCursor(input.cursor) ?? undefined);
  const words = input.name === undefined ? [] : searchWords(input.name);
  const filter: Record<string, unknown> = {
    ...nameFilter({ words, after }),
    ...(input.customId !== undefined ? { customIdKey: customIdLookup(input.customId) } : {}),
    ...(input.birthDate !== undefined ? { birthDate: input.birthDate } : {}),
  };
  return { filter, read: input.limit + 1, limit: input.limit };
}

/** One page of results and the cursor of the next, if any. Pure. */
export function page<D extends { sortKey: string }, V>(docs: readonly D[], limit: number, view: (doc: D) => V) {
  const items = docs.slice(0, limit);
  const more = docs.length > limit;
  return { items: items.map(view), nextCursor: more ? encodeCursor(items[items.length - 1].sortKey) : null };
}

export function toPerson(doc: PersonDoc) {
  return {
    id: doc._id,
    kind: doc.kind,
    lastName: doc.lastName,
    firstName: doc.firstName,
    ...(doc.usageName !== undefined ? { usageName: doc.usageName } : {}),
    sex: doc.sex,
    ...(doc.birthDate !== undefined ? { birthDate: doc.birthDate } : {}),
    ...(doc.birthPlace !== undefined ? { birthPlace: doc.birthPlace } : {}),
    ...(doc.spokenLanguage !== undefined ? { spokenLanguage: doc.spokenLanguage } : {}),
    ...(doc.customId !== undefined ? { customId: doc.customId } : {}),
    createdAt: doc.createdAt.toISOString(),
    createdBy: doc.createdBy,
    updatedAt: doc.updatedAt.toISOString(),
    updatedBy: doc.updatedBy,
  };
}
