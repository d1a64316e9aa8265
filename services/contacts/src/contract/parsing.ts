/**
 * The pure functions the schemas of the contract validate with: how a name query splits into
 * words, what a cursor this service issued looks like, which language codes are accepted, what
 * a sensitive term must contain. The contract owns them so that the gateway validates requests
 * without loading domain code; the domain builds on them (search keys, pages, term matching).
 * It imports only the shared cursor decoders, and uses the JavaScript and Node globals (Intl).
 */

import { decodeCursor as decodeSharedCursor, decodeTimeCursor } from '@relais/shared';

// ---------------------------------------------------------------------------------------------
// Name search (see domain/search.ts for the keys and filters built on these)

// Letters that NFD does not decompose but people type as two.
const LIGATURES: Record<string, string> = { œ: 'oe', æ: 'ae', ß: 'ss' };

/** Lower case, without diacritics; anything but letters and digits becomes one space. "N'Diaÿe" -> "n diaye". */
export function searchText(value: string): string {
  return value
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[œæß]/g, (c) => LIGATURES[c])
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The words of a name or of a query, normalized. */
export function searchWords(value: string): string[] {
  const text = searchText(value);
  return text ? text.split(' ') : [];
}

// ---------------------------------------------------------------------------------------------
// Cursors: a sort key, opaque to clients

/** A party's sort key (domain/search.ts sortKey): last name, first name, id. */
// eslint-disable-next-line no-control-regex -- U+0001 separates the key's parts
const SORT_KEY = /^[^\u0001]*\u0001[^\u0001]*\u0001[0-9a-f-]{36}$/;

/** The party sort key inside a cursor (made by @relais/shared's encodeCursor), or null when it is not one this service issued. */
export const decodeCursor = (cursor: string): string | null => decodeSharedCursor(cursor, (key) => SORT_KEY.test(key));

const UUID = /^[0-9a-f-]{36}$/;

/** The note sort key (creation time then id, domain/notes.ts noteSortKey) inside a cursor, or null. */
export function decodeNoteCursor(cursor: string): string | null {
  const key = decodeTimeCursor(cursor, (id) => UUID.test(id));
  return key && `${key.at.toISOString()}|${key.id}`;
}

// ---------------------------------------------------------------------------------------------
// Spoken language of a person (seed 001)

const ISO_639_1 = new Set(
  (
    'aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en ' +
    'eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja ' +
    'jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb ' +
    'nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq ' +
    'sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu'
  ).split(' '),
);

/**
 * The canonical code of a spoken language, or null. Two-letter codes must be ISO 639-1;
 * three-letter codes are ISO 639-2/3, brought to their 639-1 code when there is one
 * ("fra" -> "fr"), so each language has one code. Three letters are needed for languages
 * without a 639-1 code that our users' people speak: Réunion Creole (rcf), Shimaore (swb).
 */
export function canonicalLanguage(code: string): string | null {
  if (ISO_639_1.has(code)) return code;
  if (!/^[a-z]{3}$/.test(code)) return null;
  const canonical = Intl.getCanonicalLocales(code)[0];
  return canonical && ISO_639_1.has(canonical) ? canonical : code;
}

// ---------------------------------------------------------------------------------------------
// Sensitive terms (the matching itself is domain/observation.ts's)

/**
 * A word of a term or of an observation, as the sensitive-term check reads them: letters and
 * digits, marks belonging to their word (text typed in decomposed form keeps its words whole).
 * Global: use it only with match or matchAll, never with test or exec (they would leave its lastIndex moved).
 */
export const TERM_WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** Why a term cannot be in a list, or null: what the settings of an org's list check. A term is matched by its words. */
export function termProblem(term: string): string | null {
  return term.match(TERM_WORD) === null ? 'must contain a letter or a digit' : null;
}
