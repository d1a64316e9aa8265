/**
 * The log of asset-freeze screenings (issue 15), pure: what a party is screened as, the check
 * document a screening result becomes, when a re-screen's result is a new hit, the refusal of a
 * save and the decisions on a check. The matching itself is domain/screening.ts.
 */
import { createHash } from 'node:crypto';
import type { ReviewDecision, ScreeningCheckView, ScreeningDecision, ScreeningOutcome, ScreeningTrigger, SubjectKind } from '../contract/screening';
import type { CompanyDoc } from './companies';
import type { PersonDoc } from './people';
import { ALGORITHM_VERSION, POTENTIAL_SCORE, type RegisterEntry, type ScreeningInput, type ScreeningResult } from './screening';

/** What a check is about: a party, or a client contact of a party (`partyId` is then its client). */
export interface ScreeningSubject {
  kind: SubjectKind;
  id: string;
  partyId: string;
}

export interface CandidateRecord {
  entryId: string;
  name: string;
  matchedName: string;
  score: number;
  reasons: string[];
}

export interface DecisionRecord {
  decision: ScreeningDecision;
  reason: string;
  by: string;
  at: Date;
}

/** One document of `screening_checks`: a check, negative or not, as it was made. */
export interface ScreeningCheckDoc {
  _id: string;
  orgId: string;
  subject: ScreeningSubject;
  input: ScreeningInput;
  /** The publication screened against; null when none was imported yet. */
  publication: { publishedAt: Date; hash: string } | null;
  algorithmVersion: string;
  outcome: ScreeningOutcome;
  candidates: CandidateRecord[];
  trigger: ScreeningTrigger;
  at: Date;
  by: string;
  saveRefused: boolean;
  /** The latest of `decisions`. */
  decision: DecisionRecord | null;
  decisions: DecisionRecord[];
  /** Re-screen checks: the job (publication hash) that made them. */
  jobId?: string;
  /** Re-screen checks that found a new potential match: listed for review until decided. */
  hit?: boolean;
  review?: 'open' | 'closed';
}

/** The latest screening of a subject (`screening_status`): what a re-screen compares its result with. */
export interface ScreeningStatusDoc {
  /** statusKey(orgId, subject). */
  _id: string;
  orgId: string;
  subject: ScreeningSubject;
  checkId: string;
  outcome: ScreeningOutcome;
  /** Register entries the subject was a potential match for at that check. */
  potentialIds: string[];
  publicationHash: string | null;
  /** The check's time: a later check's status replaces an earlier one's, never the reverse. */
  changedAt: Date;
}

/** The user id a re-screen's checks are made by. */
export const RESCREEN_USER = 'rescreen';

// ---------------------------------------------------------------- what is screened

/**
 * A party as it is screened: a person by their first and last names (and first and usage names),
 * with the birth date when known; a company as an entity by its name. Parties have no
 * nationality field: none is screened until they do.
 */
export function partyScreeningInput(doc: PersonDoc | CompanyDoc): ScreeningInput {
  if (doc.kind === 'company') return { nature: 'entity', name: doc.companyName };
  return {
    nature: 'person',
    name: `${doc.firstName} ${doc.lastName}`,
    ...(doc.usageName ? { otherNames: [`${doc.firstName} ${doc.usageName}`] } : {}),
    ...(doc.birthDate ? { birthDate: doc.birthDate } : {}),
  };
}

/** What a client contact is screened on: a person's name (contacts hold neither birth date nor nationality). */
export const contactScreeningInput = (name: string): ScreeningInput => ({ nature: 'person', name });

/** True when two inputs screen the same: a change of anything else does not screen again. */
export function sameScreeningInput(a: ScreeningInput, b: ScreeningInput): boolean {
  return (
    a.nature === b.nature &&
    a.name === b.name &&
    (a.otherNames ?? []).join('\n') === (b.otherNames ?? []).join('\n') &&
    (a.birthDate ?? '') === (b.birthDate ?? '') &&
    (a.nationality ?? '') === (b.nationality ?? '')
  );
}

export const subjectOfParty = (partyId: string): ScreeningSubject => ({ kind: 'party', id: partyId, partyId });

/** The key of a subject's status: one per org and subject. */
export const statusKey = (orgId: string, subject: ScreeningSubject) => `${orgId}:${subject.kind}:${subject.id}`;

// ---------------------------------------------------------------- checks

/** The register's name of an entry: a person's family name then given names, an entity's name. */
export function entryName(entry: RegisterEntry): string {
  return [entry.name, ...entry.givenNames].join(' ');
}

export interface NewCheck {
  id: string;
  orgId: string;
  subject: ScreeningSubject;
  input: ScreeningInput;
  trigger: ScreeningTrigger;
  by: string;
  at: Date;
  /** The publication and the result of screening against it; null when no publication is imported. */
  screened: { publishedAt: Date; hash: string; result: ScreeningResult; entry: (id: string) => RegisterEntry | undefined } | null;
}

export function newCheck(c: NewCheck): ScreeningCheckDoc {
  const s = c.screened;
  return {
    _id: c.id,
    orgId: c.orgId,
    subject: c.subject,
    input: c.input,
    publication: s ? { publishedAt: s.publishedAt, hash: s.hash } : null,
    algorithmVersion: ALGORITHM_VERSION,
    outcome: s ? s.result.outcome : 'notScreened',
    candidates: (s?.result.candidates ?? []).map((k) => {
      const entry = s!.entry(k.entryId);
      return { entryId: k.entryId, name: entry ? entryName(entry) : k.matchedName, matchedName: k.matchedName, score: k.score, reasons: k.reasons };
    }),
    trigger: c.trigger,
    at: c.at,
    by: c.by,
    saveRefused: false,
    decision: null,
    decisions: [],
  };
}

/** The entries a check found the subject a potential match for (not the near misses). */
export function potentialIds(check: Pick<ScreeningCheckDoc, 'candidates'>): string[] {
  return check.candidates.filter((k) => k.score >= POTENTIAL_SCORE).map((k) => k.entryId);
}

/**
 * A re-screen's check is a new hit when it finds a potential match with an entry the subject's
 * latest check did not (a party clear before and potential now, or matching another entry):
 * an entry already reviewed, overridden at save or confirmed is not raised again.
 */
export function isNewHit(previous: Pick<ScreeningStatusDoc, 'potentialIds'> | null | undefined, check: ScreeningCheckDoc): boolean {
  if (check.outcome !== 'potential') return false;
  const before = new Set(previous?.potentialIds ?? []);
  return potentialIds(check).some((id) => !before.has(id));
}

export function statusOf(check: ScreeningCheckDoc): ScreeningStatusDoc {
  return {
    _id: statusKey(check.orgId, check.subject),
    orgId: check.orgId,
    subject: check.subject,
    checkId: check._id,
    outcome: check.outcome,
    potentialIds: potentialIds(check),
    publicationHash: check.publication?.hash ?? null,
    changedAt: check.at,
  };
}

/** A UUID (version 8 layout) derived from text: the same re-screen of the same subject has the same check id. */
export function derivedUuid(text: string): string {
  const h = createHash('sha256').update(text).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The id of a re-screen's check: a page redone after a crash finds the checks it wrote. */
export const rescreenCheckId = (jobId: string, orgId: string, subject: ScreeningSubject) =>
  derivedUuid(`rescreen\n${jobId}\n${orgId}\n${subject.kind}\n${subject.id}`);

// ---------------------------------------------------------------- saves and decisions

const MESSAGE_CANDIDATES = 5;
const day = (d: Date) => d.toISOString().slice(0, 10);

/** The 409's text of a save refused by a potential match: the candidates, and how to go on. */
export function refusalMessage(check: ScreeningCheckDoc): string {
  const potential = check.candidates.filter((k) => k.score >= POTENTIAL_SCORE);
  const listed = potential
    .slice(0, MESSAGE_CANDIDATES)
    .map((k) => `${k.entryId} "${k.name}"${k.matchedName !== k.name ? ` (as "${k.matchedName}")` : ''}, score ${k.score.toFixed(3)}`)
    .join('; ');
  const more = potential.length > MESSAGE_CANDIDATES ? ` and ${potential.length - MESSAGE_CANDIDATES} more` : '';
  const publication = check.publication ? ` (publication of ${day(check.publication.publishedAt)})` : '';
  return (
    `Not saved: "${check.input.name}" is a potential match in the national register of asset freezes${publication}: ${listed}${more}. ` +
    'Compare with the identity documents (birth date, nationality). If it is not the same person or entity, a manager or an admin can save it ' +
    'with "screeningOverride": { "reason": "..." } (at least 10 characters), which is logged. If it may be, do not go further and alert your compliance officer. ' +
    `Screening check ${check._id}.`
  );
}

/** The override decision recorded on the check of a save it let through. */
export function overridden(check: ScreeningCheckDoc, reason: string, by: string, at: Date): ScreeningCheckDoc {
  const decision: DecisionRecord = { decision: 'overridden', reason, by, at };
  return { ...check, decision, decisions: [...check.decisions, decision] };
}

/** Why a review decision cannot be recorded on this check, or null. */
export function decisionProblem(check: ScreeningCheckDoc): string | null {
  if (check.outcome === 'potential') return null;
  return check.outcome === 'clear'
    ? 'This check found no potential match: there is nothing to confirm or dismiss.'
    : 'This check was not screened (no register publication was imported then): screen the party again first.';
}

/** The decision to record, or null when it is the current one already (a retry changes nothing). */
export function reviewDecision(check: ScreeningCheckDoc, decision: ReviewDecision, reason: string, by: string, at: Date): DecisionRecord | null {
  const current = check.decision;
  if (current && current.decision === decision && current.reason === reason && current.by === by) return null;
  return { decision, reason, by, at };
}

// ---------------------------------------------------------------- views

const decisionView = (d: DecisionRecord) => ({ decision: d.decision, reason: d.reason, by: d.by, at: d.at.toISOString() });

export function toCheckView(doc: ScreeningCheckDoc): ScreeningCheckView {
  const { nature, name, otherNames, birthDate, nationality } = doc.input;
  return {
    id: doc._id,
    subject: { kind: doc.subject.kind, id: doc.subject.id, partyId: doc.subject.partyId },
    input: {
      nature,
      name,
      ...(otherNames?.length ? { otherNames } : {}),
      ...(birthDate ? { birthDate } : {}),
      ...(nationality ? { nationality } : {}),
    },
    publication: doc.publication ? { publishedAt: doc.publication.publishedAt.toISOString() } : null,
    algorithmVersion: doc.algorithmVersion,
    outcome: doc.outcome,
    candidates: doc.candidates.map((k) => ({ entryId: k.entryId, name: k.name, matchedName: k.matchedName, score: k.score, reasons: [...k.reasons] })),
    trigger: doc.trigger,
    at: doc.at.toISOString(),
    by: doc.by,
    saveRefused: doc.saveRefused === true,
    decision: doc.decision ? decisionView(doc.decision) : null,
    decisions: (doc.decisions ?? []).map(decisionView),
    review: doc.review ?? null,
  };
}
