import { expect } from 'chai';
import { encodeCursor, parseInput } from '@relais/shared';
import { createPersonInput, searchPeopleInput, updatePersonInput } from '../src/api';
import { applyChanges, birthDateProblem, newPerson, page, peopleQuery, toPerson } from '../src/domain/people';
import { canonicalLanguage, decodeCursor, searchText } from '../src/contract/parsing';
import { PREFIX_CAP, SEARCH_VERSION, escapeRegex, nameFilter, nameKeys, partySearchKeys, sortKey } from '../src/domain/search';

const agent = { orgId: 'org-1', userId: 'user-1', role: 'agent' as const };
const id = '6f1c8d7e-52d4-4e0b-9a59-0d8f3e9c1a11';
const now = new Date('2026-03-02T09:30:00Z');
const problems = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { data: { errors: { path: string; message: string }[] } }).data.errors;
  }
  return expect.fail('accepted');
};

describe('name search keys', () => {
  it('ignores case, accents and ligatures, and keeps only letters and digits', () => {
    expect(searchText('  Pièrre ')).to.equal('pierre');
    expect(searchText("N'DIAŸE")).to.equal('n diaye');
    expect(searchText('Cœur-Joie')).to.equal('coeur joie');
    expect(searchText('Ἀθηνᾶ')).to.equal('αθηνα');
  });

  it('keys every word of every name, and each compound name run together, with every prefix of each', () => {
    expect(nameKeys(['Lea', 'Jean-Pi', undefined])).to.deep.equal(['l', 'le', 'lea', 'j', 'je', 'jea', 'jean', 'p', 'pi', 'jeanp', 'jeanpi']);
    expect(nameKeys(["N'Diaÿe", 'AWA', 'awa'])).to.deep.equal([
      'n',
      'd',
      'di',
      'dia',
      'diay',
      'diaye',
      'nd',
      'ndi',
      'ndia',
      'ndiay',
      'ndiaye',
      'a',
      'aw',
      'awa',
    ]);
    expect(nameKeys(['Martin', 'Jean-Pierre'])).to.include.members(['martin', 'jean', 'pierre', 'jeanpierre', 'mar', 'pie', 'jeanp']);
  });

  it('keeps prefixes up to PREFIX_CAP characters, and every key in full', () => {
    const long = 'Wolfeschlegelsteinhausenbergerdorff';
    const keys = nameKeys([long]);
    expect(keys).to.have.length(PREFIX_CAP + 1);
    expect(keys[PREFIX_CAP - 1]).to.equal('wolfeschlegelsteinhausen');
    expect(keys[PREFIX_CAP]).to.equal('wolfeschlegelsteinhausenbergerdorff');
    expect(keys.every((k) => k.length <= PREFIX_CAP || k === 'wolfeschlegelsteinhausenbergerdorff')).to.equal(true);
  });

  it("keys a person by last, first and usage names and a company by its name, at the current version's form", () => {
    expect(partySearchKeys({ kind: 'person', lastName: 'Roux', firstName: 'Al', usageName: 'Bo' })).to.deep.equal(nameKeys(['Roux', 'Al', 'Bo']));
    expect(partySearchKeys({ kind: 'company', companyName: 'SARL Roux', lastName: 'ignored' })).to.deep.equal(nameKeys(['SARL Roux']));
    expect(SEARCH_VERSION).to.equal(2);
  });

  it('sorts by last name then first name, accents ignored, a shorter last name first', () => {
    const keys = [sortKey('Dupont Aignan', 'Zoé', id), sortKey('Émond', 'Luc', id), sortKey('Dupont', 'Zoé', id), sortKey('dupont', 'Anne', id)];
    expect([...keys].sort()).to.deep.equal([keys[3], keys[2], keys[0], keys[1]]);
  });

  it('escapes every regular-expression character of a word', () => {
    const word = 'a.*+?^${}()|[]\\/-z';
    expect(new RegExp(`^${escapeRegex(word)}$`).test(word)).to.equal(true);
    expect(new RegExp(`^${escapeRegex('.*')}`).test('anything')).to.equal(false);
  });

  it('makes each word an equality on a stored prefix, the longest at the top level, and resumes after a sort key', () => {
    expect(nameFilter({ words: ['lu', 'pier'], after: 'k' })).to.deep.equal({
      searchKeys: 'pier',
      $and: [{ searchKeys: 'lu' }],
      sortKey: { $gt: 'k' },
    });
    expect(nameFilter({ words: ['d'] })).to.deep.equal({ searchKeys: 'd' });
    expect(nameFilter({ words: ['jean', 'lu', 'jean'] })).to.deep.equal({ searchKeys: 'jean', $and: [{ searchKeys: 'lu' }] });
    expect(nameFilter({})).to.deep.equal({});
  });

  it('matches a word longer than PREFIX_CAP by its stored prefix and an anchored regex on the whole word', () => {
    const word = 'wolfeschlegelsteinhausenberger';
    expect(nameFilter({ words: ['hu', word] })).to.deep.equal({
      searchKeys: 'wolfeschlegelsteinhausen',
      $and: [{ searchKeys: { $regex: '^wolfeschlegelsteinhausenberger' } }, { searchKeys: 'hu' }],
    });
    expect(nameFilter({ words: [`${'a'.repeat(PREFIX_CAP)}.*`] })).to.deep.equal({
      searchKeys: 'a'.repeat(PREFIX_CAP),
      $and: [{ searchKeys: { $regex: `^${'a'.repeat(PREFIX_CAP)}\\.\\*` } }],
    });
  });

  it('finds by a prefix exactly the names a key of which begins with it', () => {
    // What the database does with nameFilter: every condition must equal a key, or match its regex.
    const matches = (names: string[], query: string[]) => {
      const keys = nameKeys(names);
      const { sortKey: _, $and = [], ...top } = nameFilter({ words: query }) as { $and?: { searchKeys: unknown }[]; sortKey?: unknown; searchKeys: unknown };
      return [top, ...$and].every(({ searchKeys: c }) =>
        typeof c === 'string' ? keys.includes(c) : keys.some((k) => new RegExp((c as { $regex: string }).$regex).test(k)),
      );
    };
    const long = ['Wolfeschlegelsteinhausenbergerdorff', 'Hubert'];
    expect(matches(long, ['wolfeschlegelsteinhausenberger', 'hu'])).to.equal(true);
    expect(matches(long, ['wolfeschlegelsteinhausenbergerx'])).to.equal(false);
    expect(matches(long, ['wolfeschlegelsteinhausen'])).to.equal(true);
    expect(matches(['Jean-Pierre', 'Martin'], ['jeanp', 'mar'])).to.equal(true);
    expect(matches(['Jean-Pierre', 'Martin'], ['pierre', 'luc'])).to.equal(false);
    expect(matches(['Martin'], ['artin'])).to.equal(false);
  });

  it('gives back the sort key of a cursor, and nothing for text that is not one', () => {
    const key = sortKey("N'Diaye", 'Awa', id);
    expect(decodeCursor(encodeCursor(key))).to.equal(key);
    expect(decodeCursor(encodeCursor('{"$gt":""}'))).to.equal(null);
    expect(decodeCursor('not a cursor')).to.equal(null);
  });
});

describe('people search query', () => {
  it('combines name words, customId and birth date, reading one more than the page', () => {
    const input = parseInput(searchPeopleInput, { name: ' Pièr  LU ', customId: ' 3 ', birthDate: '1976-10-03', limit: '5' });
    expect(peopleQuery(input)).to.deep.equal({
      filter: {
        searchKeys: 'pier',
        $and: [{ searchKeys: 'lu' }],
        customIdKey: 'custom:3',
        birthDate: '1976-10-03',
      },
      read: 6,
      limit: 5,
    });
  });

  it('normalizes a query of several words, a long one included, as the keys were', () => {
    const input = parseInput(searchPeopleInput, { name: 'WOLFESCHLEGELSTEINHÄUSENBERGER é Dupond' });
    expect(peopleQuery(input).filter).to.deep.equal({
      searchKeys: 'wolfeschlegelsteinhausen',
      $and: [{ searchKeys: { $regex: '^wolfeschlegelsteinhausenberger' } }, { searchKeys: 'dupond' }, { searchKeys: 'e' }],
    });
  });

  it('turns operators and patterns typed as a name into plain words', () => {
    const input = parseInput(searchPeopleInput, { name: '{"$gt":""} .*' });
    expect(peopleQuery(input).filter).to.deep.equal({ searchKeys: 'gt' });
    expect(input.limit).to.equal(20);
  });

  it('refuses a name without letters, too many words, a foreign cursor and a limit over 100', () => {
    expect(problems(() => parseInput(searchPeopleInput, { name: '*' }))).to.deep.equal([{ path: 'name', message: 'must contain a letter or a digit' }]);
    expect(problems(() => parseInput(searchPeopleInput, { name: 'a b c d e f' }))[0].message).to.equal('must have at most 5 words');
    expect(problems(() => parseInput(searchPeopleInput, { cursor: 'abc', limit: '500' }))).to.deep.equal([
      { path: 'limit', message: 'must be at most 100' },
      { path: 'cursor', message: 'is not a cursor returned by a previous search' },
    ]);
  });

  it('cuts a page and points to the next one only when there is more', () => {
    const docs = ['A', 'B', 'C'].map((n, i) => newPerson(parseInput(createPersonInput, { lastName: n, firstName: 'x' }), agent, `${id.slice(0, -1)}${i}`, now));
    const first = page(docs, 2, toPerson);
    expect(first.items.map((p) => p.lastName)).to.deep.equal(['A', 'B']);
    expect(decodeCursor(first.nextCursor!)).to.equal(docs[1].sortKey);
    expect(page(docs, 3, toPerson).nextCursor).to.equal(null);
  });
});

describe('civil status rules', () => {
  it('accepts birth dates from 1900-01-01 to today, in the org calendar', () => {
    expect(birthDateProblem('1899-12-31', '2026-03-02')).to.equal('must be on or after 1900-01-01');
    expect(birthDateProblem('1900-01-01', '2026-03-02')).to.equal(null);
    expect(birthDateProblem('2026-03-02', '2026-03-02')).to.equal(null);
    expect(birthDateProblem('2026-03-03', '2026-03-02')).to.equal('cannot be in the future');
  });

  it('keeps one code per spoken language: ISO 639-1, else ISO 639-3', () => {
    expect(canonicalLanguage('fr')).to.equal('fr');
    expect(canonicalLanguage('fra')).to.equal('fr');
    expect(canonicalLanguage('rcf')).to.equal('rcf');
    expect(canonicalLanguage('xx')).to.equal(null);
    expect(canonicalLanguage('french')).to.equal(null);
    expect(parseInput(createPersonInput, { lastName: 'a', firstName: 'b', spokenLanguage: ' ARA ' }).spokenLanguage).to.equal('ar');
  });

  it('explains what is wrong with a new file, field by field', () => {
    expect(
      problems(() => parseInput(createPersonInput, { firstName: '  ', sex: 'f', birthDate: '1976-02-30', spokenLanguage: 'français', colour: 'red' })),
    ).to.deep.equal([
      { path: 'lastName', message: 'is required' },
      { path: 'firstName', message: 'cannot be empty' },
      { path: 'sex', message: 'must be female, male or unspecified' },
      { path: 'birthDate', message: 'must be a date (YYYY-MM-DD)' },
      { path: 'spokenLanguage', message: 'must be an ISO 639 language code, e.g. fr, ar or rcf' },
      { path: '', message: 'unknown field(s): colour' },
    ]);
    expect(problems(() => parseInput(updatePersonInput, { personId: id, lastName: null }))).to.deep.equal([{ path: 'lastName', message: 'cannot be empty' }]);
    expect(problems(() => parseInput(createPersonInput, { lastName: 'a\u0000', firstName: 'b' }))).to.deep.equal([
      { path: 'lastName', message: 'contains a control character (U+0000) that cannot be stored; remove it' },
    ]);
  });
});

describe('person files', () => {
  const created = () =>
    newPerson(
      parseInput(createPersonInput, {
        lastName: ' Pierre ',
        firstName: 'Lucas',
        usageName: null,
        birthDate: '1976-10-03',
        birthPlace: 'Saint  Denis',
        customId: ' 3 ',
      }),
      agent,
      id,
      now,
    );

  it('opens a file with trimmed fields, its search keys and no empty optional field', () => {
    const doc = created();
    expect(doc).to.deep.equal({
      _id: id,
      orgId: 'org-1',
      kind: 'person',
      lastName: 'Pierre',
      firstName: 'Lucas',
      sex: 'unspecified',
      birthDate: '1976-10-03',
      birthPlace: 'Saint Denis',
      customId: '3',
      customIdKey: 'custom:3',
      searchKeys: nameKeys(['Pierre', 'Lucas']),
      searchVersion: SEARCH_VERSION,
      sortKey: `pierre\u0001lucas\u0001${id}`,
      revision: 1,
      createdAt: now,
      createdBy: 'user-1',
      updatedAt: now,
      updatedBy: 'user-1',
    });
    expect(toPerson(doc)).not.to.have.property('usageName');
  });

  it('gives a file without customId a unique key of its own', () => {
    const doc = newPerson(parseInput(createPersonInput, { lastName: 'a', firstName: 'b' }), agent, id, now);
    expect(doc.customIdKey).to.equal(`id:${id}`);
  });

  it('changes given fields, clears nulls, keeps the rest and recomputes the keys', () => {
    const later = new Date('2026-03-03T10:00:00Z');
    const editor = { ...agent, userId: 'user-2' };
    const input = parseInput(updatePersonInput, { personId: id, usageName: 'Lulu', customId: null, birthPlace: null });
    const { personId: _, ...changes } = input;
    const next = applyChanges(created(), changes, editor, later)!;
    expect(next).to.include({ usageName: 'Lulu', customIdKey: `id:${id}`, revision: 2, updatedBy: 'user-2', createdBy: 'user-1' });
    expect(next).not.to.have.property('customId');
    expect(next).not.to.have.property('birthPlace');
    expect(next.searchKeys).to.deep.equal(nameKeys(['Pierre', 'Lucas', 'Lulu']));
    expect(next.searchKeys).to.include.members(['pierre', 'lucas', 'lulu', 'l', 'lul']);
    expect(next.searchVersion).to.equal(SEARCH_VERSION);
    expect(next.updatedAt).to.equal(later);
  });

  it('makes no new revision when nothing changes', () => {
    expect(applyChanges(created(), { lastName: 'Pierre', usageName: null }, agent, now)).to.equal(null);
    expect(applyChanges(created(), {}, agent, now)).to.equal(null);
  });
});
