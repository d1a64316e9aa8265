import { TERM_WORD } from '../contract/parsing';
import { DEFAULT_SENSITIVE_TERMS, type SensitiveCategory, type SensitiveTerm } from '../contract/vocabulary';
import type { ChannelProblem } from './channels';

/**
 * The observation of a channel (seed 002: the contact's function, comptable, DAF...) must be
 * objective and related to the file, and must not harm the person's image: the person has a
 * right to read it. Before saving, its text is matched against a list of words and phrases
 * that the CNIL's guidance on free-text comment fields warns about (health, religion,
 * political or union opinions, sex life and orientation, ethnic origin, offences and
 * convictions, insults); a match is a warning the user must acknowledge to save.
 *
 * Matching is on words, not substrings (no "sida" in "subsidiaire"), with case, accents and
 * ligatures ignored and simple French inflections (plural, feminine) brought to one form, so
 * "Séropositives" matches "séropositif". No stemming library is installed and a full stemmer
 * (Snowball) merges ordinary words with listed ones; a few suffix rules applied to the list
 * and to the text alike keep the matches predictable. Pure. The categories, the French default
 * list and what a term must contain are the contract's (contract/vocabulary.ts, contract/parsing.ts):
 * the settings schema checks an org's list with them.
 */

const CATEGORY_WORDS: Record<SensitiveCategory, string> = {
  health: 'health',
  religion: 'religion or beliefs',
  opinions: 'political or union opinions',
  sexualLife: 'sex life or sexual orientation',
  ethnicOrigin: 'ethnic or racial origin',
  offences: 'offences, convictions or criminal record',
  insult: 'an insulting or subjective judgement',
  org: "a term your organisation's list flags",
};

/** An org's own list: terms added to the default, or in its place, and default terms it does not want. */
export interface OrgTermList {
  /** Plain strings are filed under `org`. */
  terms?: readonly (string | SensitiveTerm)[];
  /** Use only the org's terms. */
  replaceDefault?: boolean;
  /** Default terms to leave out (as written in the default, case and accents ignored). */
  exclude?: readonly string[];
}

// Letters that NFD does not decompose but people type as two.
const LIGATURES: Record<string, string> = { œ: 'oe', æ: 'ae', ß: 'ss' };

const fold = (word: string) =>
  word
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[œæß]/g, (c) => LIGATURES[c]);

/**
 * One form for a word and its plural and feminine: "malades" -> "malad", "religieuse" and
 * "religieux" -> "religieu", "juive" -> "juif", "criminelles" -> "criminel", "syndicaux" ->
 * "syndical", "hospitalisées" -> "hospitalis". Words of three letters or fewer are kept.
 */
export function inflectionKey(folded: string): string {
  let w = folded;
  if (w.length <= 3) return w;
  if (w.endsWith('aux')) return `${w.slice(0, -3)}al`;
  if (w.endsWith('s') || w.endsWith('x')) w = w.slice(0, -1);
  if (w.endsWith('euse')) return `${w.slice(0, -4)}eu`;
  if (w.endsWith('eur')) return w.slice(0, -1);
  if (w.endsWith('ive')) return `${w.slice(0, -3)}if`;
  if (w.endsWith('elle') || w.endsWith('enne')) return w.slice(0, -2);
  if (w.endsWith('ee')) return w.slice(0, -2);
  if (w.endsWith('e') && w.length > 3) return w.slice(0, -1);
  return w;
}

interface Token {
  key: string;
  start: number;
  end: number;
}

function tokens(text: string): Token[] {
  return [...text.matchAll(TERM_WORD)].map((m) => ({ key: inflectionKey(fold(m[0])), start: m.index, end: m.index + m[0].length }));
}

const termKeys = (term: string) => tokens(term).map((t) => t.key);

/** A list ready to match: each term by the key of its first word. */
export interface SensitiveList {
  terms: readonly SensitiveTerm[];
  byFirstWord: ReadonlyMap<string, readonly { term: SensitiveTerm; keys: string[] }[]>;
}

/**
 * The list an org matches against: the French default, with the org's additions, without
 * its exclusions, or only its own terms. Terms without a letter or digit are left out
 * (termProblem refuses them when the org saves its list).
 */
export function sensitiveList(org: OrgTermList = {}): SensitiveList {
  const excluded = new Set((org.exclude ?? []).map((t) => termKeys(t).join(' ')));
  const defaults = org.replaceDefault ? [] : DEFAULT_SENSITIVE_TERMS.filter((t) => !excluded.has(termKeys(t.term).join(' ')));
  const own = (org.terms ?? []).map((t): SensitiveTerm => (typeof t === 'string' ? { term: t.trim(), category: 'org' } : t));
  const byFirstWord = new Map<string, { term: SensitiveTerm; keys: string[] }[]>();
  const terms: SensitiveTerm[] = [];
  const seen = new Set<string>();
  for (const term of [...defaults, ...own]) {
    const keys = termKeys(term.term);
    const id = keys.join(' ');
    if (keys.length === 0 || seen.has(id)) continue;
    seen.add(id);
    terms.push(term);
    byFirstWord.set(keys[0], [...(byFirstWord.get(keys[0]) ?? []), { term, keys }]);
  }
  return { terms, byFirstWord };
}

/** A listed term found in a text: the term, why it is listed, and the words as they were typed. */
export interface ObservationWarning {
  term: string;
  category: SensitiveCategory;
  found: string;
}

/**
 * Every listed term the text contains, once each, in the order they appear. A term inside a
 * longer one found at the same place is not reported again ("fragile" in "cœur fragile").
 */
export function observationWarnings(text: string, list: SensitiveList): ObservationWarning[] {
  const words = tokens(text);
  const warnings: ObservationWarning[] = [];
  const reported = new Set<SensitiveTerm>();
  let coveredUntil = 0;
  words.forEach((word, i) => {
    const candidates = [...(list.byFirstWord.get(word.key) ?? [])].sort((a, b) => b.keys.length - a.keys.length);
    for (const { term, keys } of candidates) {
      if (!keys.every((k, j) => words[i + j]?.key === k)) continue;
      const end = i + keys.length;
      if (end <= coveredUntil || reported.has(term)) continue;
      coveredUntil = end;
      reported.add(term);
      warnings.push({ term: term.term, category: term.category, found: text.slice(word.start, words[end - 1].end) });
    }
  });
  return warnings;
}

declare const checked: unique symbol;
/** An observation that was matched against the org's list and, if it warned, acknowledged. */
export type CheckedObservation = string & { readonly [checked]: true };

export interface ObservationProblem extends ChannelProblem {
  code: 'sensitive-observation';
  warnings: ObservationWarning[];
}

/**
 * Checks an observation before it is saved: trimmed, inner spaces made one, empty meaning
 * none. A text with listed terms is saved only when the user acknowledged each of them
 * (the terms the client was shown, as `term` of the warnings): an acknowledgement of an
 * earlier text does not cover a term added since. The warnings are returned either way, so
 * the client can keep showing them.
 */
export function checkObservation(
  text: string | null | undefined,
  list: SensitiveList,
  acknowledged: readonly string[] = [],
): { ok: true; observation: CheckedObservation | null; warnings: ObservationWarning[] } | { ok: false; problem: ObservationProblem } {
  const observation = (text ?? '').trim().replace(/\s+/g, ' ');
  if (observation === '') return { ok: true, observation: null, warnings: [] };
  const warnings = observationWarnings(observation, list);
  const acked = new Set(acknowledged.map((t) => termKeys(t).join(' ')));
  const pending = warnings.filter((w) => !acked.has(termKeys(w.term).join(' ')));
  if (pending.length === 0) return { ok: true, observation: observation as CheckedObservation, warnings };
  const found = pending.map((w) => `"${w.found}" (${CATEGORY_WORDS[w.category]})`).join(', ');
  return {
    ok: false,
    problem: {
      code: 'sensitive-observation',
      message:
        `The observation contains ${found}. It must be objective and related to the file, and the person has the right to read it: ` +
        'rephrase it, or confirm that it is needed to save it as it is.',
      path: 'observation',
      fields: pending.map((w) => ({ path: 'observation', message: `"${w.found}": ${CATEGORY_WORDS[w.category]}` })),
      warnings,
    },
  };
}
