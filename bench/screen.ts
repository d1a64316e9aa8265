// `npm run bench -- screen [contacts=100000] [entries=5000]`: a full re-screen of `contacts` synthetic
// names against a synthetic asset-freeze register of `entries`, in memory (the CPU-bound part of a
// re-screen; reading the register is one query). Relais: the blocking index of
// services/contacts/src/domain/screening.ts, scoring only the entries sharing a phonetic or prefix
// key with the contact. Floor: the same scoring function on every (contact, entry) pair. Among the
// contacts, a labelled set of variants of register names (typos, swaps, accents, transliterations,
// aliases, titles) is screened by both: recall is the share of the floor's potential matches on it
// that Relais finds too. The floor is too slow for every contact: it runs on the labelled set and as
// many other contacts, and its time for all contacts is extrapolated from that sample.
import {
  POTENTIAL_SCORE,
  buildIndex,
  screen,
  screenAll,
  type Nature,
  type ScreeningResult,
  type Publication,
  type RegisterEntry,
  type ScreeningInput,
} from '../services/contacts/src/domain/screening';
import { parseArgs, whenAborted, type BenchContext } from './lib/context';
import { seededRandom } from './lib/open-loop';

export const description = 'full re-screen of contacts against an asset-freeze register: blocking index vs scoring every pair; recall on labelled variants';

const say = (msg: string) => process.stderr.write(`screen: ${msg}\n`);
const LABELLED_MAX = 300;

const random = seededRandom(15);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
const chance = (p: number) => random() < p;

// Names that real registers hold in several transliterations: each row is one name.
const TRANSLITERATIONS: string[][] = [
  ['Mohamed', 'Muhammad', 'Mohammed', 'Mohamad'],
  ['Abdelkader', 'Abd al-Qadir', 'Abdulkadir', 'Abdel Kader'],
  ['Youssef', 'Yusuf', 'Youcef', 'Yousef'],
  ['Hussein', 'Husayn', 'Hussain', 'Houssein'],
  ['Oussama', 'Usama', 'Osama'],
  ['Aicha', 'Aisha', 'Aïcha'],
  ['Abderrahmane', 'Abd al-Rahman', 'Abdulrahman'],
  ['Khaled', 'Khalid', 'Khaleed'],
  ['Ibrahim', 'Ebrahim', 'Brahim'],
  ['Vladimir', 'Wladimir', 'Vladimír'],
  ['Sergueï', 'Sergey', 'Sergei'],
  ['Aleksandr', 'Alexandre', 'Alexander', 'Oleksandr'],
  ['Evgueni', 'Yevgeny', 'Evgeniy'],
  ['Dmitri', 'Dmitry', 'Dimitri'],
];
const CONSONANTS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'ch', 'kh', 'sh', 'dr', 'tr', 'br', 'gr'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ou', 'ai', 'ia'];
const ENDINGS = ['', '', 'ov', 'ova', 'enko', 'adze', 'i', 'ian', 'ski', 'ani', 'oun', 'el'];
const COMPANY_WORDS = ['Trading', 'Holding', 'Shipping', 'Industries', 'Metals', 'Energy', 'Logistics', 'Capital', 'Group', 'Bank', 'Petroleum', 'Invest'];
const LEGAL = ['LLC', 'Ltd', 'JSC', 'SA', 'SARL', 'GmbH', ''];
// Contacts of a French client base: names that should not (but may) look like register names.
const FRENCH_GIVEN = [
  'Jean',
  'Marie',
  'Pierre',
  'Sophie',
  'Nicolas',
  'Isabelle',
  'Julien',
  'Camille',
  'Thomas',
  'Léa',
  'Antoine',
  'Chloé',
  'Mathieu',
  'Nathalie',
  'Karim',
  'Fatima',
  'Mehdi',
  'Inès',
  'Lucas',
  'Manon',
  'Hugo',
  'Sarah',
  'Yanis',
  'Emma',
];
const FRENCH_FAMILY = [
  'Martin',
  'Bernard',
  'Dubois',
  'Thomas',
  'Robert',
  'Richard',
  'Petit',
  'Durand',
  'Leroy',
  'Moreau',
  'Simon',
  'Laurent',
  'Lefebvre',
  'Michel',
  'Garcia',
  'David',
  'Bertrand',
  'Roux',
  'Vincent',
  'Fournier',
  'Morel',
  'Girard',
  'André',
  'Mercier',
  'Blanc',
  'Guerin',
  'Boyer',
  'Garnier',
  'Chevalier',
  'François',
  'Legrand',
  'Gauthier',
  'Perrin',
  'Robin',
  'Clement',
  'Morin',
  'Nicolas',
  'Henry',
  'Roussel',
  'Mathieu',
];

const capital = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
function syllableWord(min: number, max: number): string {
  let w = '';
  const n = min + Math.floor(random() * (max - min + 1));
  for (let i = 0; i < n; i++) w += pick(CONSONANTS) + pick(VOWELS);
  return capital(w + pick(ENDINGS));
}
const givenName = () => (chance(0.3) ? pick(pick(TRANSLITERATIONS)) : syllableWord(2, 3));
const year = () => 1940 + Math.floor(random() * 60);
const two = (n: number) => String(n).padStart(2, '0');

function syntheticEntry(i: number): RegisterEntry {
  const nature: Nature = chance(0.85) ? 'person' : 'entity';
  if (nature === 'entity') {
    const name = `${syllableWord(2, 3)} ${pick(COMPANY_WORDS)} ${pick(LEGAL)}`.trim();
    return {
      id: String(10_000 + i),
      nature,
      natureLabel: 'Personne morale',
      name,
      givenNames: [],
      aliases: chance(0.3) ? [`${syllableWord(2, 2)} ${pick(COMPANY_WORDS)}`] : [],
      birthDates: [],
      nationalities: [],
    };
  }
  const family = syllableWord(2, 3).toUpperCase();
  const given = Array.from({ length: 1 + Math.floor(random() * 2) }, givenName).join(' ');
  const birth = chance(0.8)
    ? [
        chance(0.25)
          ? { year: year() }
          : chance(0.15)
            ? { year: year(), month: 1 + Math.floor(random() * 12) }
            : { year: year(), month: 1 + Math.floor(random() * 12), day: 1 + Math.floor(random() * 28) },
      ]
    : [];
  return {
    id: String(10_000 + i),
    nature,
    natureLabel: 'Personne physique',
    name: family,
    givenNames: [given],
    aliases: chance(0.3) ? [`${capital(family.toLowerCase())}${pick(['a', 'e', 'ov', ''])} ${given.split(' ')[0]}`] : [],
    birthDates: birth,
    nationalities: [pick(['Fictivie', 'Oranie', 'Valdonie', 'Sylvanie'])],
  };
}

// ---------------------------------------------------------------- variants of register names

function typo(word: string): string {
  if (word.length < 5) return word;
  const at = 1 + Math.floor(random() * (word.length - 2));
  const kind = Math.floor(random() * 3);
  if (kind === 0) return word.slice(0, at) + word.slice(at + 1); // deletion
  if (kind === 1) return word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2); // transposition
  return word.slice(0, at) + pick(['a', 'e', 'i', 'o', 'n', 'r', 's']) + word.slice(at + 1); // substitution
}
const ACCENTS: Record<string, string> = { e: 'é', a: 'à', i: 'ï', o: 'ô', u: 'ü' };
const accented = (word: string) => word.replace(/[aeiou]/, (v) => ACCENTS[v]);
function transliterated(word: string): string {
  const row = TRANSLITERATIONS.find((r) => r.includes(word));
  if (row) return pick(row.filter((w) => w !== word));
  return word
    .replace(/ou/, 'u')
    .replace(/k(?!h)/, 'q')
    .replace(/ch/, 'sh')
    .replace(/i/, 'y');
}

type Variant = 'typo' | 'swap' | 'accents' | 'transliteration' | 'alias' | 'title';
const VARIANTS: Variant[] = ['typo', 'swap', 'accents', 'transliteration', 'alias', 'title'];

function variantOf(entry: RegisterEntry, kind: Variant): ScreeningInput {
  const words = entry.nature === 'person' ? [...entry.givenNames.join(' ').split(' '), capital(entry.name.toLowerCase())] : entry.name.split(' ');
  const changeOne = (f: (w: string) => string) => {
    const longest = words.reduce((best, w, i) => (w.length > words[best].length ? i : best), 0);
    return words.map((w, i) => (i === longest ? f(w) : w));
  };
  let name: string;
  if (kind === 'typo') name = changeOne(typo).join(' ');
  else if (kind === 'swap') name = [...words].reverse().join(' ');
  else if (kind === 'accents') name = changeOne(accented).join(' ').toUpperCase();
  else if (kind === 'transliteration') name = words.map(transliterated).join(' ');
  else if (kind === 'alias') name = entry.aliases[0] ?? words.join(' ');
  else name = `${entry.nature === 'person' ? pick(['M.', 'Mme', 'Dr', 'Sheikh']) : ''} ${words.join('-')}`.trim();
  const birth = entry.birthDates[0];
  const birthDate =
    birth && chance(0.5) ? [String(birth.year), ...(birth.month ? [two(birth.month)] : []), ...(birth.day ? [two(birth.day)] : [])].join('-') : undefined;
  return { nature: entry.nature, name, ...(birthDate ? { birthDate } : {}) };
}

function ordinaryContact(): ScreeningInput {
  if (chance(0.1)) return { nature: 'entity', name: `${pick(FRENCH_FAMILY)} ${pick(COMPANY_WORDS)} ${pick(['SARL', 'SAS', ''])}`.trim() };
  const birthDate = chance(0.7) ? `${year()}-${two(1 + Math.floor(random() * 12))}-${two(1 + Math.floor(random() * 28))}` : undefined;
  const name = chance(0.85) ? `${pick(FRENCH_GIVEN)} ${pick(FRENCH_FAMILY)}` : `${givenName()} ${syllableWord(2, 3)}`;
  return { nature: 'person', name, ...(birthDate ? { birthDate } : {}) };
}

// ---------------------------------------------------------------- run

/** The entries a check reports as potential matches. */
const hitsOf = (result: ScreeningResult) => new Set(result.candidates.filter((c) => c.score >= POTENTIAL_SCORE).map((c) => c.entryId));

export async function run(args: string[], ctx: BenchContext): Promise<string[]> {
  const { contacts, entries } = parseArgs(args, { contacts: 100_000, entries: 5_000 });
  const aborted = whenAborted(ctx.signal);
  aborted.catch(() => {});
  const publication: Publication = { publishedAt: new Date('2026-05-01T00:00:00Z'), entries: Array.from({ length: entries }, (_, i) => syntheticEntry(i)) };
  const labelledCount = Math.min(LABELLED_MAX, Math.floor(contacts / 10));
  const labelled: { input: ScreeningInput; entryId: string; kind: Variant }[] = Array.from({ length: labelledCount }, (_, i) => {
    const entry = pick(publication.entries);
    const kind = VARIANTS[i % VARIANTS.length];
    return { input: variantOf(entry, kind), entryId: entry.id, kind };
  });
  const inputs: ScreeningInput[] = [...labelled.map((l) => l.input), ...Array.from({ length: contacts - labelledCount }, ordinaryContact)];
  say(`${entries} register entries, ${contacts} contacts of which ${labelledCount} labelled variants`);

  // Relais: build the index, then screen every contact.
  const t0 = performance.now();
  const index = buildIndex(publication);
  const built = performance.now() - t0;
  const relais = inputs.map((input) => screen(input, index));
  const relaisMs = performance.now() - t0;
  const potential = relais.filter((r) => r.outcome === 'potential').length;
  say(
    `Relais: index built in ${built.toFixed(0)} ms (${index.postings.size} keys), ${contacts} contacts screened in ${(relaisMs / 1000).toFixed(2)} s; ${potential} potential matches`,
  );
  if (ctx.signal.aborted) throw ctx.signal.reason;

  // Floor: every pair, on the labelled set and as many ordinary contacts.
  const sample = Math.min(contacts, labelledCount * 2);
  const t1 = performance.now();
  const floor: ScreeningResult[] = [];
  for (let i = 0; i < sample; i++) {
    floor.push(screenAll(inputs[i], index));
    // Let an abort (timeout, Ctrl-C) through between contacts.
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    if (ctx.signal.aborted) throw ctx.signal.reason;
  }
  const floorSampleMs = performance.now() - t1;
  const floorMs = sample === contacts ? floorSampleMs : (floorSampleMs / sample) * contacts;

  // Recall: the floor's potential matches on the labelled set that Relais finds too.
  let floorHits = 0;
  let found = 0;
  let ownEntryFloor = 0;
  const missedByKind = new Map<Variant, number>();
  labelled.forEach((l, i) => {
    const f = hitsOf(floor[i]);
    const r = hitsOf(relais[i]);
    for (const id of f) {
      floorHits++;
      if (r.has(id)) found++;
    }
    if (f.has(l.entryId)) ownEntryFloor++;
    else missedByKind.set(l.kind, (missedByKind.get(l.kind) ?? 0) + 1);
  });
  // Beyond the labelled set: the floor's potential matches among the sample's other contacts that Relais misses.
  let sampleHits = 0;
  let sampleMissed = 0;
  for (let i = labelledCount; i < sample; i++) {
    const r = hitsOf(relais[i]);
    for (const id of hitsOf(floor[i])) {
      sampleHits++;
      if (!r.has(id)) sampleMissed++;
    }
  }
  const recall = floorHits === 0 ? 1 : found / floorHits;

  const relaisRate = contacts / (relaisMs / 1000);
  const floorRate = contacts / (floorMs / 1000);
  const missed = [...missedByKind.entries()].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return [
    `screen: ${contacts} contacts against ${entries} register entries (${labelledCount} labelled variants of register names)`,
    `Relais (blocking index): ${(relaisMs / 1000).toFixed(2)} s, index build ${built.toFixed(0)} ms included; ${potential} potential matches`,
    `floor (every pair, same scoring): ${(floorMs / 1000).toFixed(1)} s${sample === contacts ? '' : `, extrapolated from ${sample} contacts screened in ${(floorSampleMs / 1000).toFixed(1)} s`}`,
    `recall on the labelled set: ${(recall * 100).toFixed(1)}% (${found} of the floor's ${floorHits} potential matches found by Relais)`,
    `labelled variants whose own entry the scoring finds: ${ownEntryFloor} of ${labelledCount} (not found, by kind: ${missed})`,
    `other sampled contacts (${sample - labelledCount}): ${sampleMissed} of the floor's ${sampleHits} potential matches missed by Relais`,
    `RESULT screen ${relaisRate.toFixed(2)} contacts/s ratio=${(relaisRate / floorRate).toFixed(2)}`,
  ];
}
