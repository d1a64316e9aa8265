import { searchText, searchWords } from '../contract/parsing';

/**
 * Name search for parties, without collations (FerretDB has none): every name is stored
 * with normalized keys and their prefixes, so that each word of a query is an equality on
 * `searchKeys`, which the index serves and FerretDB hands down to PostgreSQL (an anchored
 * $regex it evaluates itself, on every document of the collection). Pure functions. How a
 * text splits into words and what a cursor holds are the contract's (contract/parsing.ts):
 * the request schemas check queries and cursors with them.
 */

/**
 * The longest prefix stored: a query word up to this long is one equality; a longer one is the
 * equality on its first PREFIX_CAP characters and an anchored regex on the whole word. Every
 * prefix from one character is stored, as a query word may be a single letter ("dupont j").
 */
export const PREFIX_CAP = 24;

/**
 * The form of the `searchKeys` a party is stored with (its `searchVersion`): raise it whenever
 * nameKeys changes, and the parties stored before are rewritten when the service starts
 * (data/parties.ts backfillSearchKeys). 1 (absent): the keys alone; 2: with their prefixes.
 */
export const SEARCH_VERSION = 2;

/**
 * Keys of a party's names: each word, and each name with its words run together, so that
 * "Jean-Pierre N'Diaye" is found by "pier", "jean p", "ndia" and "n'dia"; each key in full and
 * every prefix of it up to PREFIX_CAP characters.
 */
export function nameKeys(names: readonly (string | undefined)[]): string[] {
  const keys = new Set<string>();
  const add = (key: string) => {
    for (let n = 1; n <= Math.min(key.length, PREFIX_CAP); n++) keys.add(key.slice(0, n));
    keys.add(key);
  };
  for (const name of names) {
    if (!name) continue;
    const words = searchWords(name);
    for (const word of words) add(word);
    if (words.length > 1) add(words.join(''));
  }
  return [...keys];
}

/** What a party is found by: a person's last, first and usage names, a company's name. */
export interface NamedParty {
  kind: string;
  lastName?: string;
  firstName?: string;
  usageName?: string;
  companyName?: string;
}

/** The searchKeys of a party of any kind, at SEARCH_VERSION: what every write and the backfill store. */
export function partySearchKeys(party: NamedParty): string[] {
  return party.kind === 'company' ? nameKeys([party.companyName]) : nameKeys([party.lastName, party.firstName, party.usageName]);
}

/**
 * Sort position of a party: normalized last name, first name, then the id, so every party
 * has its own place and a page can resume after the last one shown. \u0001 sorts before
 * every character a normalized name holds, so "Dupont" comes before "Dupont Aignan".
 */
export function sortKey(lastName: string, firstName: string, id: string): string {
  return [searchText(lastName), searchText(firstName), id].join('\u0001');
}

export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

export interface NameSearch {
  /** Words of the name query; each must begin one of a party's name keys. */
  words?: readonly string[];
  /** Resume after this sort key. */
  after?: string;
}

/**
 * The conditions a word puts on `searchKeys`: an equality when it is a stored prefix; when
 * longer, the equality on its stored prefix (for the index) and an anchored regex on the whole
 * word, escaped: user input never becomes a pattern or an operator.
 */
function wordConditions(word: string): Record<string, unknown>[] {
  if (word.length <= PREFIX_CAP) return [{ searchKeys: word }];
  return [{ searchKeys: word.slice(0, PREFIX_CAP) }, { searchKeys: { $regex: `^${escapeRegex(word)}` } }];
}

/**
 * The name and paging part of a search filter (the caller adds its own exact-match fields).
 * The longest word, the most selective, is a top-level equality: FerretDB hands that to
 * PostgreSQL and evaluates the rest, in `$and`, only on the documents it returns.
 */
export function nameFilter({ words = [], after }: NameSearch): Record<string, unknown> {
  const longestFirst = [...new Set(words)].sort((a, b) => b.length - a.length);
  const [first, ...rest] = longestFirst.flatMap(wordConditions);
  return {
    ...(first ?? {}),
    ...(rest.length > 0 ? { $and: rest } : {}),
    ...(after !== undefined ? { sortKey: { $gt: after } } : {}),
  };
}
