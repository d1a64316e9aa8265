import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { decideScreeningInput, decodeCheckCursor, encodeCheckCursor, screeningOverride } from '../src/contract/screening';
import type { CompanyDoc } from '../src/domain/companies';
import type { PersonDoc } from '../src/domain/people';
import { ALGORITHM_VERSION, buildIndex, parseRegister, screen, type ScreeningInput } from '../src/domain/screening';
import {
  decisionProblem,
  isNewHit,
  newCheck,
  overridden,
  partyScreeningInput,
  potentialIds,
  refusalMessage,
  rescreenCheckId,
  reviewDecision,
  sameScreeningInput,
  statusOf,
  subjectOfParty,
  toCheckView,
  type ScreeningCheckDoc,
} from '../src/domain/screeningChecks';

const publication = parseRegister(JSON.parse(readFileSync(new URL('./fixtures/gels-avoirs-sample.json', import.meta.url), 'utf8')));
const index = buildIndex(publication);
const byId = new Map(publication.entries.map((e) => [e.id, e]));
const at = new Date('2026-05-02T08:00:00Z');
const ORG = 'org-1';
const PARTY = '6f1c3b0e-5d2a-4c8e-9a57-3d6f1b2c4e8a';

const person = (fields: Partial<PersonDoc>): PersonDoc =>
  ({ kind: 'person', _id: PARTY, orgId: ORG, firstName: 'Jean', lastName: 'Dupont', sex: 'male', ...fields }) as PersonDoc;

function check(input: ScreeningInput, screened = true): ScreeningCheckDoc {
  return newCheck({
    id: '0b7e2f52-8a61-4f7c-9d3e-51a2c6e4b9f0',
    orgId: ORG,
    subject: subjectOfParty(PARTY),
    input,
    trigger: 'save',
    by: 'user-1',
    at,
    screened: screened ? { publishedAt: publication.publishedAt, hash: 'h1', result: screen(input, index), entry: (id) => byId.get(id) } : null,
  });
}

describe('screening log: what a party is screened as', () => {
  it('screens a person by first and last names, the usage name as another name, with the birth date when known', () => {
    expect(partyScreeningInput(person({ firstName: 'Massimiliano', lastName: 'Trivellano', usageName: 'Rossi', birthDate: '1964-02-17' }))).to.deep.equal({
      nature: 'person',
      name: 'Massimiliano Trivellano',
      otherNames: ['Massimiliano Rossi'],
      birthDate: '1964-02-17',
    });
    expect(partyScreeningInput(person({}))).to.deep.equal({ nature: 'person', name: 'Jean Dupont' });
  });

  it('screens a company as an entity by its name', () => {
    const company = { kind: 'company', _id: PARTY, orgId: ORG, companyName: 'Zarkovian Holding', legalForm: 'SARL' } as CompanyDoc;
    expect(partyScreeningInput(company)).to.deep.equal({ nature: 'entity', name: 'Zarkovian Holding' });
  });

  it('tells a change of what is screened from a change of anything else', () => {
    const before = partyScreeningInput(person({ birthDate: '1980-01-01' }));
    expect(sameScreeningInput(before, partyScreeningInput(person({ birthDate: '1980-01-01', customId: 'X' })))).to.equal(true);
    expect(sameScreeningInput(before, partyScreeningInput(person({ birthDate: '1980-01-02' })))).to.equal(false);
    expect(sameScreeningInput(before, partyScreeningInput(person({ birthDate: '1980-01-01', lastName: 'Durand' })))).to.equal(false);
    expect(sameScreeningInput(before, partyScreeningInput(person({ birthDate: '1980-01-01', usageName: 'Lulu' })))).to.equal(false);
  });
});

describe('screening log: checks', () => {
  it('logs a check made before any import as notScreened, with no publication and no candidates', () => {
    const c = check({ nature: 'person', name: 'Massimiliano Trivellano' }, false);
    expect(c).to.deep.include({
      outcome: 'notScreened',
      publication: null,
      candidates: [],
      algorithmVersion: ALGORITHM_VERSION,
      saveRefused: false,
      decision: null,
    });
  });

  it('names each candidate as the register does, with the name that matched and the score', () => {
    const c = check({ nature: 'person', name: 'Tamas Charmadse' });
    expect(c.outcome).to.equal('potential');
    expect(c.publication).to.deep.equal({ publishedAt: publication.publishedAt, hash: 'h1' });
    expect(c.candidates[0]).to.deep.include({ entryId: '90006', name: 'KHARMADZE Tamaz', matchedName: 'Tamas Charmadse' });
    expect(potentialIds(c)).to.include('90006');
  });

  it('keeps near misses among the candidates of a clear check, but not among its potential ids', () => {
    const c = check({ nature: 'person', name: 'Massimiliano Trivellano', birthDate: '1988-02-17' });
    expect(c.outcome).to.equal('clear');
    expect(c.candidates.map((k) => k.entryId)).to.include('90011');
    expect(potentialIds(c)).to.deep.equal([]);
  });

  it('derives a re-screen check id from the job and the subject: a redone page finds its checks', () => {
    const a = rescreenCheckId('job-1', ORG, subjectOfParty(PARTY));
    expect(a).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rescreenCheckId('job-1', ORG, subjectOfParty(PARTY))).to.equal(a);
    expect(rescreenCheckId('job-2', ORG, subjectOfParty(PARTY))).to.not.equal(a);
    expect(rescreenCheckId('job-1', 'org-2', subjectOfParty(PARTY))).to.not.equal(a);
  });
});

describe('screening log: new hits of a re-screen', () => {
  const potential = check({ nature: 'person', name: 'Anouchka Belskaro' });
  const clear = check({ nature: 'person', name: 'Jean Dupont' });

  it('a party never screened, or clear before, and a potential match now is a new hit', () => {
    expect(isNewHit(undefined, potential)).to.equal(true);
    expect(isNewHit(statusOf(clear), potential)).to.equal(true);
  });

  it('the same entry again is not (overridden at save, dismissed or confirmed before): another entry is', () => {
    expect(isNewHit(statusOf(potential), potential)).to.equal(false);
    expect(isNewHit({ potentialIds: ['90001'] }, potential)).to.equal(true);
  });

  it('a clear check is never a hit', () => {
    expect(isNewHit(undefined, clear)).to.equal(false);
  });

  it("a subject's status keeps the check, its outcome and the potential entries", () => {
    expect(statusOf(potential)).to.deep.include({
      _id: `${ORG}:party:${PARTY}`,
      checkId: potential._id,
      outcome: 'potential',
      potentialIds: ['90003'],
      publicationHash: 'h1',
      changedAt: at,
    });
  });
});

describe('screening log: saves and decisions', () => {
  const potential = check({ nature: 'person', name: 'Massimilano Trivelano' });

  it('a refused save names the candidates (register id, name, score) and tells how to go on', () => {
    const message = refusalMessage(potential);
    expect(message).to.match(
      /^Not saved: "Massimilano Trivelano" is a potential match in the national register of asset freezes \(publication of 2026-04-30\): 90011 "TRIVELLANO Massimiliano", score 0\.\d{3}/,
    );
    expect(message).to.include('a manager or an admin can save it with "screeningOverride": { "reason": "..." }');
    expect(message).to.include(`Screening check ${potential._id}.`);
  });

  it('an override is a decision, with who and why', () => {
    const o = overridden(potential, 'Checked the passport: born 1990', 'manager-1', at);
    expect(o.decision).to.deep.equal({ decision: 'overridden', reason: 'Checked the passport: born 1990', by: 'manager-1', at });
    expect(o.decisions).to.deep.equal([o.decision]);
  });

  it('only a potential match takes a decision', () => {
    expect(decisionProblem(potential)).to.equal(null);
    expect(decisionProblem(check({ nature: 'person', name: 'Jean Dupont' }))).to.match(/no potential match/);
    expect(decisionProblem(check({ nature: 'person', name: 'Jean Dupont' }, false))).to.match(/not screened/);
  });

  it('the same decision again changes nothing; another one is recorded', () => {
    const first = reviewDecision(potential, 'dismissed', 'Different birth date on the ID', 'm', at)!;
    const decided = { ...potential, decision: first, decisions: [first] };
    expect(reviewDecision(decided, 'dismissed', 'Different birth date on the ID', 'm', at)).to.equal(null);
    expect(reviewDecision(decided, 'confirmed', 'Same person after all, per the prefecture', 'm', at)).to.deep.include({ decision: 'confirmed' });
  });

  it('shows a check with dates as ISO strings and its review state', () => {
    const view = toCheckView({ ...potential, hit: true, review: 'open' });
    expect(view).to.deep.include({
      id: potential._id,
      outcome: 'potential',
      trigger: 'save',
      at: at.toISOString(),
      review: 'open',
      decision: null,
      saveRefused: false,
    });
    expect(view.subject).to.deep.equal({ kind: 'party', id: PARTY, partyId: PARTY });
    expect(view.publication).to.deep.equal({ publishedAt: '2026-04-30T15:05:12.347Z' });
  });
});

describe('screening contract', () => {
  it('an override needs a reason of at least 10 characters', () => {
    expect(screeningOverride.safeParse({}).success).to.equal(false);
    expect(screeningOverride.safeParse({ reason: '  too short ' }).success).to.equal(false);
    expect(screeningOverride.safeParse({ reason: 'x'.repeat(10) }).success).to.equal(true);
    expect(screeningOverride.safeParse({ reason: 'x'.repeat(10), by: 'me' }).success).to.equal(false);
  });

  it('a decision is confirmed or dismissed, with a reason', () => {
    const base = { partyId: PARTY, checkId: PARTY, reason: 'Different birth date' };
    expect(decideScreeningInput.safeParse({ ...base, decision: 'confirmed' }).success).to.equal(true);
    expect(decideScreeningInput.safeParse({ ...base, decision: 'overridden' }).success).to.equal(false);
  });

  it('reads back its own cursors, and nothing else', () => {
    const c = encodeCheckCursor(at, PARTY);
    expect(decodeCheckCursor(c)).to.deep.equal({ at, id: PARTY });
    expect(decodeCheckCursor('bm90IGEgY3Vyc29y')).to.equal(null);
  });
});
