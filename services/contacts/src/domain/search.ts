import { searchText, searchWords } from '../contract/parsing';

/**
 * Name search for parties, without collations (FerretDB has none): every name is stored
 * with normalized keys, and a query is matched as anchored, case-sensitive prefixes of
 * those keys, which MongoDB serves from the `searchKeys` index. Pure functions. How a text
 * splits into words and what a cursor holds are the contract's (contract/parsing.ts): the
 * request schemas check queries and cursors with them.
 */

/**
 * Keys of a party's names: each word, and each name with its words run together, so that
 * "Jean-Pierre N'Diaye" is found by "pier", "jean p", "ndia" and "n'dia".
 */
export function nameKeys(names: readonly (string | undefined)[]): string[] {
  const keys = new Set<string>();
  for (const name of names) {
    if (!name) continue;
    const words = searchWords(name);
    for (const word of words) keys.add(word);
    if (words.length > 1) keys.add(words.join(''));
  }
  return [...keys];
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
 * The name and paging part of a search filter (the caller adds its own exact-match fields).
 * Each word is escaped and anchored: user input never becomes a pattern or an operator.
 */
export function nameFilter({ words = [], after }: NameSearch): Record<string, unknown> {
  return {
    ...(words.length > 0 ? { $and: words.map((w) => ({ searchKeys: { $regex: `^${escapeRegex(w)}` } })) } : {}),
    ...(after !== undefined ? { sortKey: { $gt: after } } : {}),
  };
}
