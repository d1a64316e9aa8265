/**
 * Asset-freeze screening (issue 15): the national register of asset freezes (registre national des
 * gels des avoirs, DG Trésor) parsed from its public JSON, and the screening of a name against it.
 * Pure functions, no I/O.
 *
 * Matching is fuzzy by design: names are normalised (accents, case, punctuation, hyphens, titles),
 * compared token by token in any order with Jaro-Winkler (talisman), on the spelling and on a
 * transliteration fold (Mohamed / Muhammad), over the entry's name and each alias; birth date,
 * nature and nationality then raise or lower the score. A score at or above POTENTIAL_SCORE is a
 * potential match; `confirmed` is only ever a person's decision, never computed here.
 */
import jaroWinkler from 'talisman/metrics/jaro-winkler.js';
import doubleMetaphone from 'talisman/phonetics/double-metaphone.js';
import { searchText } from '../contract/parsing';

/** Recorded with every check: a change of normalisation, weights or thresholds bumps it. */
export const ALGORITHM_VERSION = 'screening-1';

/** At or above: a potential match, to be reviewed by staff. */
export const POTENTIAL_SCORE = 0.88;
/** At or above: listed among the candidates of a check (clear or not), so the log shows near misses. */
export const CANDIDATE_SCORE = 0.8;
/** Most candidates a check returns, best first. */
export const MAX_CANDIDATES = 10;

export type Nature = 'person' | 'entity';
export type Outcome = 'clear' | 'potential';

/** A birth date as the register gives it: the year, sometimes the month, sometimes the day. */
export interface PartialDate {
  year: number;
  month?: number;
  day?: number;
}

export interface RegisterEntry {
  /** IdRegistre, as a string. */
  id: string;
  nature: Nature;
  /** The register's own label ("Personne physique", "Personne morale", "Navire"). */
  natureLabel: string;
  /** Nom: the family name of a person, the whole name of an entity. */
  name: string;
  givenNames: string[];
  aliases: string[];
  birthDates: PartialDate[];
  nationalities: string[];
}

export interface Publication {
  publishedAt: Date;
  entries: RegisterEntry[];
}

export class RegisterFormatError extends Error {}

// ---------------------------------------------------------------- the register's JSON

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');

/** Values of one Valeur field (e.g. `Prenom` of PRENOM), non-empty, in the register's order. */
function values(details: Json[], typeChamp: string, key: string): string[] {
  return details
    .filter((d) => d.TypeChamp === typeChamp && Array.isArray(d.Valeur))
    .flatMap((d) => (d.Valeur as unknown[]).map((v) => (isObject(v) ? text(v[key]) : text(v))))
    .filter((v) => v !== '');
}

/** { Jour, Mois, Annee } with any of Jour and Mois missing or empty: year only, year-month. */
export function parsePartialDate(v: unknown): PartialDate | null {
  if (!isObject(v)) return null;
  const year = Number(text(v.Annee));
  if (!Number.isInteger(year) || year < 1800 || year > 2200) return null;
  const month = Number(text(v.Mois));
  const day = Number(text(v.Jour));
  const hasMonth = text(v.Mois) !== '' && Number.isInteger(month) && month >= 1 && month <= 12;
  // A day without its month says nothing usable.
  const hasDay = hasMonth && text(v.Jour) !== '' && Number.isInteger(day) && day >= 1 && day <= 31;
  return { year, ...(hasMonth ? { month } : {}), ...(hasDay ? { day } : {}) };
}

/** "YYYY", "YYYY-MM" or "YYYY-MM-DD" (a contact's birth date, or a partial one). */
export function parseIsoPartialDate(value: string): PartialDate | null {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value.trim());
  if (!m) return null;
  return parsePartialDate({ Annee: m[1], Mois: m[2] ?? '', Jour: m[3] ?? '' });
}

function natureOf(label: string): Nature {
  // Personne morale and Navire (vessels) are both screened as entities.
  return searchText(label).includes('physique') ? 'person' : 'entity';
}

/**
 * The register's public JSON: { Publications: { DatePublication, PublicationDetail: [{ IdRegistre,
 * Nature, Nom, RegistreDetail: [{ TypeChamp, Valeur: [...] }] }] } }. Fields other than names,
 * birth dates and nationalities are not kept. Throws RegisterFormatError on another shape.
 */
export function parseRegister(json: unknown): Publication {
  const publications = isObject(json) ? json.Publications : undefined;
  if (!isObject(publications)) throw new RegisterFormatError('not a register publication: no "Publications" object');
  const publishedAt = new Date(text(publications.DatePublication));
  if (Number.isNaN(publishedAt.getTime())) throw new RegisterFormatError('"Publications.DatePublication" is not a date');
  const details = publications.PublicationDetail;
  if (!Array.isArray(details)) throw new RegisterFormatError('"Publications.PublicationDetail" is not a list');
  const seen = new Set<string>();
  const entries = details.map((d, i): RegisterEntry => {
    if (!isObject(d)) throw new RegisterFormatError(`PublicationDetail[${i}] is not an object`);
    const id = text(d.IdRegistre);
    const name = text(d.Nom);
    if (!id || !name) throw new RegisterFormatError(`PublicationDetail[${i}] has no IdRegistre or no Nom`);
    if (seen.has(id)) throw new RegisterFormatError(`IdRegistre ${id} appears twice`);
    seen.add(id);
    const fields = Array.isArray(d.RegistreDetail) ? d.RegistreDetail.filter(isObject) : [];
    const natureLabel = text(d.Nature);
    return {
      id,
      nature: natureOf(natureLabel),
      natureLabel,
      name,
      givenNames: values(fields, 'PRENOM', 'Prenom'),
      aliases: values(fields, 'ALIAS', 'Alias'),
      birthDates: fields
        .filter((f) => f.TypeChamp === 'DATE_DE_NAISSANCE' && Array.isArray(f.Valeur))
        .flatMap((f) => (f.Valeur as unknown[]).map(parsePartialDate))
        .filter((b): b is PartialDate => b !== null),
      nationalities: values(fields, 'NATIONALITE', 'Pays'),
    };
  });
  return { publishedAt, entries };
}

// ---------------------------------------------------------------- names

// Titles and honorifics, dropped wherever they stand: they are not part of who someone is.
const TITLES = new Set([
  'm',
  'mr',
  'mme',
  'mlle',
  'mrs',
  'ms',
  'miss',
  'monsieur',
  'madame',
  'mademoiselle', // civil
  'dr',
  'docteur',
  'doctor',
  'pr',
  'prof',
  'professeur',
  'maitre',
  'me', // professional
  'sheikh',
  'shaikh',
  'cheikh',
  'cheik',
  'sayyid',
  'sayed',
  'hadj',
  'hajj',
  'haji',
  'mullah',
  'mollah',
  'imam', // religious
  'general',
  'colonel',
  'col',
  'gen',
  'capt', // military
]);
// Legal forms, dropped from entity names only ("ACME Ltd" is ACME).
const LEGAL_FORMS = new Set([
  'sa',
  'sas',
  'sarl',
  'eurl',
  'ltd',
  'limited',
  'llc',
  'inc',
  'corp',
  'co',
  'gmbh',
  'ag',
  'bv',
  'jsc',
  'ojsc',
  'pjsc',
  'cjsc',
  'ooo',
  'zao',
  'oao',
  'pao',
  'fze',
  'plc',
]);
// Arabic articles: glued to a preceding abd/abu ("Abd al-Qadir" -> abdalqadir), else dropped ("al-Rashid" -> rashid).
const ARTICLES = new Set(['al', 'el', 'ul', 'ar', 'ad', 'as', 'ash', 'at', 'az', 'an', 'ed', 'er', 'es', 'et']);
const GLUED_ARTICLES = new Set(['al', 'el', 'ul']);
// Prefixes written apart or together ("Abdel Kader" / "Abdelkader"): glued to the next word.
const COMPOUND_PREFIXES = new Set(['abd', 'abdel', 'abdul', 'abdoul', 'abdal', 'abu', 'abou', 'bou']);
// Filiation words, spelt many ways: one spelling, and no blocking key (they would select everyone).
const PARTICLES: Record<string, string> = { ben: 'bin', bin: 'bin', ibn: 'bin', ibni: 'bin', bint: 'bint', ould: 'ould', ag: 'ag' };

/** The words of a name, normalised for comparison: "Sheikh Abd al-Qādir BEN-Ali" -> ["abdalqadir", "bin", "ali"]. */
export function nameTokens(name: string, nature: Nature = 'person'): string[] {
  const words = searchText(name)
    .split(' ')
    .filter((w) => w !== '' && !TITLES.has(w) && !(nature === 'entity' && LEGAL_FORMS.has(w)));
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    if (COMPOUND_PREFIXES.has(w) && next !== undefined) {
      const withArticle = ARTICLES.has(next) && words[i + 2] !== undefined;
      out.push(withArticle ? w + next + words[i + 2] : w + next);
      i += withArticle ? 2 : 1;
    } else if (GLUED_ARTICLES.has(w) && next !== undefined) {
      continue;
    } else {
      out.push(PARTICLES[w] ?? w);
    }
  }
  return out;
}

// Transliteration fold, applied in order: the same name written from Arabic, Cyrillic or through
// French or English ends up alike ("mohamed", "muhammad", "mohammed" -> "muhamad").
const FOLD_RULES: [RegExp, string][] = [
  [/ph/g, 'f'],
  [/kh/g, 'k'],
  [/gh/g, 'g'],
  [/dh/g, 'd'],
  [/th/g, 't'],
  [/sch|tch|ch|sh/g, 's'],
  [/ck|q|c(?=[aou])/g, 'k'],
  [/ou|oo|w/g, 'u'],
  [/ee|y/g, 'i'],
  [/o/g, 'u'],
  [/e/g, 'a'],
  [/(.)\1+/g, '$1'],
  [/h$/g, ''],
];

export function foldToken(token: string): string {
  let out = token;
  for (const [re, by] of FOLD_RULES) out = out.replace(re, by);
  return out || token;
}

/** A token ready to compare: its spelling, its fold, its weight (longer words say more). */
interface Token {
  raw: string;
  fold: string;
  weight: number;
}

const toToken = (raw: string): Token => ({ raw, fold: foldToken(raw), weight: Math.max(2, raw.length) });

// A fold equal but not the spelling is a little less than an equal spelling.
const FOLD_WEIGHT = 0.97;
// Below this, two tokens are not paired at all: one word alike is not a name alike.
const TOKEN_MIN = 0.8;
// An initial is weak evidence: it pairs, but never as well as the word.
const INITIAL_SIMILARITY = 0.85;

function tokenSimilarity(a: Token, b: Token): number {
  if (a.raw === b.raw) return 1;
  // An initial ("I. Petrov") stands for any word with that letter.
  if (a.raw.length === 1 || b.raw.length === 1) return a.raw[0] === b.raw[0] ? INITIAL_SIMILARITY : 0;
  const raw = jaroWinkler(a.raw, b.raw);
  const fold = a.fold === b.fold ? 1 : jaroWinkler(a.fold, b.fold);
  return Math.max(raw, FOLD_WEIGHT * fold);
}

/**
 * Similarity of two names as sets of tokens, in any order: tokens are paired greedily by best
 * similarity (one-to-one), and the score is the weighted coverage of the shorter name, lowered a
 * little for what the longer one has unmatched (a register's patronymic, a contact's second name).
 */
export function nameSimilarity(a: readonly Token[], b: readonly Token[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      const s = tokenSimilarity(a[i], b[j]);
      if (s >= TOKEN_MIN) pairs.push([s, i, j]);
    }
  }
  pairs.sort((x, y) => y[0] - x[0]);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  let coveredA = 0;
  let coveredB = 0;
  for (const [s, i, j] of pairs) {
    if (usedA.has(i) || usedB.has(j)) continue;
    usedA.add(i);
    usedB.add(j);
    coveredA += s * a[i].weight;
    coveredB += s * b[j].weight;
  }
  const shareA = coveredA / a.reduce((n, t) => n + t.weight, 0);
  const shareB = coveredB / b.reduce((n, t) => n + t.weight, 0);
  const [main, other] = shareA >= shareB ? [shareA, shareB] : [shareB, shareA];
  return main * (0.9 + 0.1 * other);
}

// ---------------------------------------------------------------- birth date, nature, nationality

// Score adjustments: a matching birth date confirms, a contradicting one all but rules out.
const BIRTH_EXACT = 0.06;
const BIRTH_PARTIAL = 0.03;
const BIRTH_CONTRADICTS = -0.2;
const NATURE_DIFFERS = -0.3;
const NATIONALITY_MATCHES = 0.02;

type DateAgreement = 'exact' | 'partial' | 'contradicts';

/** Agreement of two dates on what both know: equal when both are whole, partial when one knows less. */
export function compareDates(a: PartialDate, b: PartialDate): DateAgreement {
  if (a.year !== b.year) return 'contradicts';
  if (a.month === undefined || b.month === undefined) return 'partial';
  if (a.month !== b.month) return 'contradicts';
  if (a.day === undefined || b.day === undefined) return 'partial';
  return a.day === b.day ? 'exact' : 'contradicts';
}

const RANK: Record<DateAgreement, number> = { exact: 2, partial: 1, contradicts: 0 };
const showDate = (d: PartialDate) =>
  [String(d.year), ...(d.month ? [String(d.month).padStart(2, '0')] : []), ...(d.day ? [String(d.day).padStart(2, '0')] : [])].join('-');

/** Countries and nationalities as the register writes them ("RUSSIE", "Russe"): equal on the first 4 letters. */
const countryKey = (value: string) => searchText(value).replace(/ /g, '').slice(0, 4);

// ---------------------------------------------------------------- the index and the check

/** What is screened: a contact or a party. `name` is the whole name (family and given names, any order). */
export interface ScreeningInput {
  nature: Nature;
  name: string;
  /** Other names of the same person or entity (usage name, trade name). */
  otherNames?: string[];
  /** "YYYY-MM-DD", or partial: "YYYY", "YYYY-MM". */
  birthDate?: string;
  nationality?: string;
}

export interface Candidate {
  entryId: string;
  score: number;
  /** The register's name or alias that scored best, as the register writes it. */
  matchedName: string;
  reasons: string[];
}

export interface ScreeningResult {
  outcome: Outcome;
  candidates: Candidate[];
}

interface IndexedName {
  label: string;
  alias: boolean;
  tokens: Token[];
}

interface IndexedEntry {
  entry: RegisterEntry;
  names: IndexedName[];
  countries: string[];
}

export interface RegisterIndex {
  publishedAt: Date;
  entries: IndexedEntry[];
  /** Blocking key -> positions in `entries` of the entries having a token with that key. */
  postings: Map<string, number[]>;
}

/**
 * Blocking keys of a token: its Double Metaphone codes (typos and transliterations that sound
 * alike: Petrov / Betrov, Mohamed / Muhammad) and the first three letters of its fold (typos that
 * change the sound further on). A candidate must share at least one key with the input.
 */
export function blockingKeys(token: string): string[] {
  if (token.length < 2 || Object.values(PARTICLES).includes(token)) return [];
  const [primary, secondary] = doubleMetaphone(token.toUpperCase());
  const keys = new Set<string>([`p:${foldToken(token).slice(0, 3)}`]);
  if (primary) keys.add(`m:${primary}`);
  if (secondary) keys.add(`m:${secondary}`);
  return [...keys];
}

function indexEntry(entry: RegisterEntry): IndexedEntry {
  const main = entry.nature === 'person' ? [entry.name, ...entry.givenNames].join(' ') : entry.name;
  const labels: [string, boolean][] = [[main, false], ...entry.aliases.map((a): [string, boolean] => [a, true])];
  return {
    entry,
    names: labels.map(([label, alias]) => ({ label, alias, tokens: nameTokens(label, entry.nature).map(toToken) })).filter((n) => n.tokens.length > 0),
    countries: entry.nationalities.map(countryKey).filter((k) => k !== ''),
  };
}

export function buildIndex(publication: Publication): RegisterIndex {
  const entries = publication.entries.map(indexEntry);
  const postings = new Map<string, number[]>();
  entries.forEach((e, position) => {
    const keys = new Set(e.names.flatMap((n) => n.tokens.flatMap((t) => blockingKeys(t.raw))));
    for (const key of keys) {
      const list = postings.get(key);
      if (list) list.push(position);
      else postings.set(key, [position]);
    }
  });
  return { publishedAt: publication.publishedAt, entries, postings };
}

/** An input prepared once for every entry it is scored against. */
export interface PreparedInput {
  nature: Nature;
  names: Token[][];
  birthDate: PartialDate | null;
  country: string;
}

export function prepareInput(input: ScreeningInput): PreparedInput {
  return {
    nature: input.nature,
    names: [input.name, ...(input.otherNames ?? [])].map((n) => nameTokens(n, input.nature).map(toToken)).filter((t) => t.length > 0),
    birthDate: input.birthDate ? parseIsoPartialDate(input.birthDate) : null,
    country: input.nationality ? countryKey(input.nationality) : '',
  };
}

/** The score of one entry for an input, with why: the function both the index and a full scan use. */
export function scoreEntry(input: PreparedInput, indexed: IndexedEntry): Candidate {
  let best = 0;
  let matched: IndexedName | undefined;
  for (const mine of input.names) {
    for (const theirs of indexed.names) {
      const s = nameSimilarity(mine, theirs.tokens);
      if (s > best) [best, matched] = [s, theirs];
    }
  }
  const entry = indexed.entry;
  const reasons: string[] = [];
  if (matched) reasons.push(`${matched.alias ? 'alias' : 'name'} similarity ${best.toFixed(3)}`);
  let score = best;
  if (input.birthDate && entry.birthDates.length > 0) {
    const agreement = entry.birthDates.map((d) => compareDates(input.birthDate!, d)).reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
    score += agreement === 'exact' ? BIRTH_EXACT : agreement === 'partial' ? BIRTH_PARTIAL : BIRTH_CONTRADICTS;
    reasons.push(
      `birth date ${agreement === 'exact' ? 'matches' : agreement === 'partial' ? 'matches partially' : 'contradicts'} (${entry.birthDates.map(showDate).join(', ')})`,
    );
  }
  if (input.nature !== entry.nature) {
    score += NATURE_DIFFERS;
    reasons.push(`nature differs (${entry.natureLabel || entry.nature})`);
  }
  if (input.country && indexed.countries.includes(input.country)) {
    score += NATIONALITY_MATCHES;
    reasons.push('nationality matches');
  }
  return { entryId: entry.id, score: Math.round(Math.max(0, Math.min(1, score)) * 1000) / 1000, matchedName: matched?.label ?? entry.name, reasons };
}

/** Positions of the entries sharing a blocking key with the input. */
export function blockCandidates(input: PreparedInput, index: RegisterIndex): Set<number> {
  const out = new Set<number>();
  for (const name of input.names) {
    for (const token of name) {
      for (const key of blockingKeys(token.raw)) for (const position of index.postings.get(key) ?? []) out.add(position);
    }
  }
  return out;
}

/** Candidates and outcome from scored entries. */
export function decide(scored: Iterable<Candidate>): ScreeningResult {
  const candidates = [...scored]
    .filter((c) => c.score >= CANDIDATE_SCORE)
    .sort((a, b) => b.score - a.score || a.entryId.localeCompare(b.entryId))
    .slice(0, MAX_CANDIDATES);
  return { outcome: candidates.length > 0 && candidates[0].score >= POTENTIAL_SCORE ? 'potential' : 'clear', candidates };
}

/** Screens a contact or a party: only the entries the blocking keys select are scored. */
export function screen(input: ScreeningInput, index: RegisterIndex): ScreeningResult {
  const prepared = prepareInput(input);
  const scored: Candidate[] = [];
  for (const position of blockCandidates(prepared, index)) scored.push(scoreEntry(prepared, index.entries[position]));
  return decide(scored);
}

/** The same check scoring every entry (no blocking): the reference the index is measured against. */
export function screenAll(input: ScreeningInput, index: RegisterIndex): ScreeningResult {
  const prepared = prepareInput(input);
  return decide(index.entries.map((e) => scoreEntry(prepared, e)));
}
