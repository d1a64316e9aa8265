import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import {
  ALGORITHM_VERSION,
  POTENTIAL_SCORE,
  RegisterFormatError,
  buildIndex,
  compareDates,
  nameTokens,
  parseRegister,
  screen,
  screenAll,
  type ScreeningInput,
} from '../src/domain/screening';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/gels-avoirs-sample.json', import.meta.url), 'utf8')) as unknown;
const publication = parseRegister(fixture);
const index = buildIndex(publication);

const person = (name: string, more: Partial<ScreeningInput> = {}): ScreeningInput => ({ nature: 'person', name, ...more });
const entity = (name: string): ScreeningInput => ({ nature: 'entity', name });
/** The best candidate's entry and score, or null. */
const top = (input: ScreeningInput) => screen(input, index).candidates[0] ?? null;
const scoreFor = (input: ScreeningInput, entryId: string) => screen(input, index).candidates.find((c) => c.entryId === entryId)?.score ?? 0;

function expectPotential(input: ScreeningInput, entryId: string): void {
  const result = screen(input, index);
  expect(result.outcome, `${input.name}: ${JSON.stringify(result.candidates)}`).to.equal('potential');
  expect(result.candidates[0].entryId).to.equal(entryId);
}

function expectClear(input: ScreeningInput): void {
  const result = screen(input, index);
  expect(result.outcome, `${input.name}: ${JSON.stringify(result.candidates)}`).to.equal('clear');
}

describe('screening: the register file', () => {
  it('reads the publication date and every entry, with given names, aliases, partial birth dates and nationalities', () => {
    expect(publication.publishedAt.toISOString()).to.equal('2026-04-30T15:05:12.347Z');
    expect(publication.entries).to.have.length(20);
    const first = publication.entries[0];
    expect(first).to.deep.include({
      id: '90001',
      nature: 'person',
      name: 'ZARKOVIAN',
      givenNames: ['Ilyan Borissovitch'],
      aliases: ['Ilian Zarkov', 'I. Zarkovian'],
      nationalities: ['Fictivie'],
    });
    expect(first.birthDates).to.deep.equal([{ year: 1961, month: 3, day: 14 }]);
    expect(publication.entries.find((e) => e.id === '90002')!.birthDates).to.deep.equal([{ year: 1974 }]);
    expect(publication.entries.find((e) => e.id === '90003')!.birthDates).to.deep.equal([{ year: 1980, month: 7 }]);
    // Personne morale and Navire are both screened as entities.
    expect(publication.entries.filter((e) => e.nature === 'entity').map((e) => e.natureLabel)).to.include.members(['Personne morale', 'Navire']);
  });

  it('refuses another shape with a message', () => {
    expect(() => parseRegister({ Publication: {} })).to.throw(RegisterFormatError, /Publications/);
    expect(() => parseRegister({ Publications: { DatePublication: 'soon', PublicationDetail: [] } })).to.throw(RegisterFormatError, /DatePublication/);
    const twice = { IdRegistre: 1, Nature: 'Personne physique', Nom: 'X', RegistreDetail: [] };
    expect(() => parseRegister({ Publications: { DatePublication: '2026-01-01T00:00:00Z', PublicationDetail: [twice, twice] } })).to.throw(/twice/);
  });

  it('names its algorithm version', () => expect(ALGORITHM_VERSION).to.match(/^screening-\d+$/));
});

describe('screening: names', () => {
  it('drops accents, case, punctuation, hyphens and titles, and joins Arabic compounds', () => {
    expect(nameTokens('Mme Élodie-Marguerite VANTERHOEK')).to.deep.equal(['elodie', 'marguerite', 'vanterhoek']);
    expect(nameTokens('Sheikh Abd al-Qādir BEN-Ali')).to.deep.equal(['abdalqadir', 'bin', 'ali']);
    expect(nameTokens('Dr. Muhammad al-Quortani')).to.deep.equal(['muhammad', 'quortani']);
    expect(nameTokens('Zarkovian Holding Ltd', 'entity')).to.deep.equal(['zarkovian', 'holding']);
  });

  it('finds a name written without accents, in capitals, with its titles', () => {
    expectPotential(person('M. Elodie Marguerite Vanterhoek'), '90005');
    expectPotential(person('AICHA QUIMPERLAY'), '90013');
    expectPotential(person('Mme Anne Sophie de la Fresnaye Quimboult'), '90007');
  });

  it('finds family and given names swapped', () => {
    expectPotential(person('Massimiliano Trivellano'), '90011');
    expectPotential(person('Trivellano Massimiliano'), '90011');
  });

  it('tolerates typos', () => {
    expectPotential(person('Massimilano Trivelano'), '90011');
    expectPotential(person('Anouchka Belskaro'), '90003');
    expectPotential(person('Anouska Belscaro'), '90003');
  });

  it('tolerates transliteration variants: Mohamed / Muhammad / Mohammed, Abdelkader / Abd al-Qadir, Youssef / Yusuf', () => {
    expectPotential(person('Mohamed Abdelkader Al Quortani'), '90002');
    expectPotential(person('Mohammed Abd el Kader Kortani'), '90002');
    expectPotential(person('Muhammad Abdulqadir Alquortani'), '90002');
    expectPotential(person('Youssef Oudreman'), '90004');
    expectPotential(person('Yousouf Hassan Oudremane'), '90004');
    expectPotential(person('Rasul Husseynov'), '90012');
  });

  it('matches aliases and reports which name matched', () => {
    const c = top(person('Tamas Charmadse'));
    expect(c.entryId).to.equal('90006');
    expect(c.matchedName).to.equal('Tamas Charmadse');
    expect(c.reasons[0]).to.match(/^alias similarity/);
    expectPotential(person('Ludmila Ostrogradewa'), '90009');
    expectPotential(entity('Oranian Rare Metals'), '90016');
  });

  it('finds entities by their name without legal form', () => {
    expectPotential(entity('Zarkovian Holding'), '90015');
    expectPotential(entity('Belskaro Constructions'), '90017');
    expectPotential(entity('Étoile du Nord Fictive'), '90019');
  });
});

describe('screening: birth date, nature, nationality', () => {
  it('compares partial dates on what both know', () => {
    expect(compareDates({ year: 1974 }, { year: 1974, month: 2, day: 3 })).to.equal('partial');
    expect(compareDates({ year: 1980, month: 7 }, { year: 1980, month: 8, day: 1 })).to.equal('contradicts');
    expect(compareDates({ year: 1961, month: 3, day: 14 }, { year: 1961, month: 3, day: 14 })).to.equal('exact');
    expect(compareDates({ year: 1961 }, { year: 1962 })).to.equal('contradicts');
  });

  it('raises the rank with an exact birth date more than with a partial one, and lowers it with a contradicting one', () => {
    const name = 'Ilyan Zarkovian';
    const none = scoreFor(person(name), '90001');
    const exact = scoreFor(person(name, { birthDate: '1961-03-14' }), '90001');
    const yearOnly = scoreFor(person(name, { birthDate: '1961' }), '90001');
    const otherYear = scoreFor(person(name, { birthDate: '1990-03-14' }), '90001');
    expect(exact).to.be.greaterThan(yearOnly);
    expect(yearOnly).to.be.greaterThan(none);
    expect(otherYear).to.be.lessThan(none);
  });

  it('a register date known to the year only (1974) agrees with a full date of that year, and one of several dates is enough', () => {
    expect(top(person('Muhammad Abd al-Qadir Al-Quortani', { birthDate: '1974-06-01' })).reasons).to.include('birth date matches partially (1974)');
    expect(top(person('Youssef Hassan Oudreman', { birthDate: '1970-11-02' })).reasons).to.include('birth date matches (1969-11-02, 1970-11-02)');
  });

  it('does not match a person with an entity, nor an entity with a person', () => {
    expectClear(person('Zarkovian Holding'));
    expectClear(entity('Ilyan Borissovitch Zarkovian'));
    // The person, not the homonymous company, is the match.
    expectPotential(person('Tamaz Kharmadze'), '90006');
  });

  it('a matching nationality raises the score a little', () => {
    expect(scoreFor(person('Anouska Belscaro', { nationality: 'Fictivie' }), '90003')).to.be.greaterThan(scoreFor(person('Anouska Belscaro'), '90003'));
  });
});

describe('screening: clear cases stay clear', () => {
  it('common names, names sharing one word with an entry, unrelated names', () => {
    for (const name of [
      'Jean Dupont',
      'Marie Martin',
      'Mohamed Benali',
      'Anne Durand',
      'Sophie Marceau',
      'Corentin Le Goff',
      'Hassan Belkacem',
      'Igor Stravinsky',
    ])
      expectClear(person(name));
    for (const name of ['Boulangerie Martin', 'Holding Dupont', 'Nord Transports']) expectClear(entity(name));
  });

  it('the same name with another birth year', () => {
    expectClear(person('Massimiliano Trivellano', { birthDate: '1988-02-17' }));
    expectClear(person('Aïcha Quimperlay', { birthDate: '1962' }));
    // Not clear without the date: the name alone is a potential match.
    expect(screen(person('Aïcha Quimperlay'), index).outcome).to.equal('potential');
  });

  it('logs near misses as candidates of a clear check', () => {
    const result = screen(person('Massimiliano Trivellano', { birthDate: '1988-02-17' }), index);
    expect(result.candidates[0]).to.deep.include({ entryId: '90011' });
    expect(result.candidates[0].score).to.be.lessThan(POTENTIAL_SCORE);
  });
});

describe('screening: the blocking index', () => {
  it('finds what scoring every entry finds, on every case above', () => {
    const inputs = [
      person('Massimilano Trivelano'),
      person('Mohammed Abd el Kader Kortani'),
      person('Ludmila Ostrogradewa'),
      person('Tamas Charmadse'),
      person('Yousouf Hassan Oudremane'),
      entity('Oranian Rare Metals'),
      person('Anouska Belscaro', { birthDate: '1980-07' }),
    ];
    for (const input of inputs) expect(screen(input, index), input.name).to.deep.equal(screenAll(input, index));
  });
});
