import { z } from 'zod';
import { STAFF, decodeTimeCursor, encodeTimeCursor, type Role, type Route } from '@relais/shared';
import { partyId } from './channels';

// ---------------------------------------------------------------------------------------------
// Asset-freeze screening (issue 15): the checks of parties (and client contacts) against the
// national register of asset freezes, their decisions, and the re-screens after a new publication.
// Pure contract: zod and routes only.

/** Managers and admins override a potential match at save, confirm or dismiss one, and review the re-screens' hits. */
export const SCREENING_DECIDERS: readonly Role[] = ['admin', 'manager'];

export const SCREENING_OUTCOMES = ['clear', 'potential', 'notScreened'] as const;
export type ScreeningOutcome = (typeof SCREENING_OUTCOMES)[number];
export const SCREENING_TRIGGERS = ['save', 'onDemand', 'rescreen'] as const;
export type ScreeningTrigger = (typeof SCREENING_TRIGGERS)[number];
export const SCREENING_DECISIONS = ['overridden', 'confirmed', 'dismissed'] as const;
export type ScreeningDecision = (typeof SCREENING_DECISIONS)[number];
/** The decisions of a review (an override is only given at save). */
export const REVIEW_DECISIONS = ['confirmed', 'dismissed'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];
export const SUBJECT_KINDS = ['party', 'clientContact'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];
export const HIT_STATUSES = ['open', 'closed', 'all'] as const;

export const checkId = z.uuid({ message: 'must be a screening check id (UUID)' });

/** Why a decision was taken: kept in the log with who took it. */
export const screeningReason = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required: say why' : undefined) })
  .trim()
  .min(10, 'must be at least 10 characters: say why')
  .max(1000, 'must be at most 1000 characters');

/**
 * Given by a manager or admin to save a party the screening found a potential match for (someone
 * else is refused with a 403): the decision `overridden` is logged with who gave it and why.
 */
export const screeningOverride = z
  .strictObject({ reason: screeningReason.describe('Why this is not the person or entity of the register (documents checked, birth date...)') })
  .describe(
    'Save although the asset-freeze screening found a potential match (managers and admins only; 403 for other roles). ' +
      'Without it such a save is refused with a 409 naming the candidates.',
  )
  .meta({ examples: [{ reason: 'Not the same person: born 1988 in Saint-Denis, identity card checked.' }] });
export type ScreeningOverride = z.infer<typeof screeningOverride>;

// ---------------------------------------------------------------- cursors

/** Newest-first pages of checks: the last item's time and id. */
export const encodeCheckCursor = (at: Date, id: string): string => encodeTimeCursor(at, id);

export const decodeCheckCursor = (cursor: string): { at: Date; id: string } | null => decodeTimeCursor(cursor, (id) => /^[0-9a-f-]{36}$/.test(id));

const limit = z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50);
const cursor = z
  .string()
  .max(200)
  .refine((c) => decodeCheckCursor(c) !== null, 'is not a cursor returned by a previous page of checks')
  .optional()
  .describe('nextCursor of the previous page');

// ---------------------------------------------------------------- inputs

export const screenPartyInput = z.strictObject({ partyId });

export const partyScreeningsInput = z.strictObject({ partyId, limit, cursor });
export type PartyScreeningsInput = z.infer<typeof partyScreeningsInput>;

export const decideScreeningInput = z
  .strictObject({
    partyId,
    checkId,
    decision: z
      .enum(REVIEW_DECISIONS, { error: 'must be confirmed or dismissed' })
      .describe('confirmed: it is the person or entity of the register; dismissed: it is not'),
    reason: screeningReason,
  })
  .meta({ examples: [{ decision: 'dismissed', reason: 'Different birth date and nationality on the passport we hold.' }] });
export type DecideScreeningInput = z.infer<typeof decideScreeningInput>;

export const screeningHitsInput = z.strictObject({
  status: z.enum(HIT_STATUSES, { error: 'must be open, closed or all' }).default('open').describe('open: no decision yet; closed: confirmed or dismissed'),
  limit,
  cursor,
});
export type ScreeningHitsInput = z.infer<typeof screeningHitsInput>;

export const rescreensInput = z.strictObject({
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(50, 'must be at most 50').default(10),
});

// ---------------------------------------------------------------- views

export const screeningCandidate = z.object({
  /** IdRegistre of the register's entry. */
  entryId: z.string(),
  /** The entry as the register names it (family name, then given names). */
  name: z.string(),
  /** The entry's name or alias that scored best. */
  matchedName: z.string(),
  score: z.number(),
  reasons: z.array(z.string()),
});

export const screeningDecisionView = z.object({
  decision: z.enum(SCREENING_DECISIONS),
  reason: z.string(),
  by: z.string(),
  at: z.iso.datetime(),
});

export const screeningCheckView = z.object({
  id: z.string(),
  /** What was screened: a party, or a client contact of a party. */
  subject: z.object({ kind: z.enum(SUBJECT_KINDS), id: z.string(), partyId: z.string() }),
  /** The name, birth date and nationality as screened. */
  input: z.object({
    nature: z.enum(['person', 'entity']),
    name: z.string(),
    otherNames: z.array(z.string()).optional(),
    birthDate: z.string().optional(),
    nationality: z.string().optional(),
  }),
  /** The register publication screened against; null when none was imported yet (outcome notScreened). */
  publication: z.object({ publishedAt: z.iso.datetime() }).nullable(),
  algorithmVersion: z.string(),
  outcome: z.enum(SCREENING_OUTCOMES),
  /** Entries that scored high enough to be shown, best first (a clear check may list near misses). */
  candidates: z.array(screeningCandidate),
  trigger: z.enum(SCREENING_TRIGGERS),
  at: z.iso.datetime(),
  /** The user who saved or asked; `rescreen` for the background re-screen. */
  by: z.string(),
  /** A save refused because of this check (a potential match without an override). */
  saveRefused: z.boolean(),
  /** The latest decision, null when none was taken. */
  decision: screeningDecisionView.nullable(),
  /** Every decision, oldest first. */
  decisions: z.array(screeningDecisionView),
  /** A new potential match found by a re-screen: open until confirmed or dismissed; null for other checks. */
  review: z.enum(['open', 'closed']).nullable(),
});
export type ScreeningCheckView = z.infer<typeof screeningCheckView>;

export const screeningChecksPage = z.object({ items: z.array(screeningCheckView), nextCursor: z.string().nullable() });

export const rescreenView = z.object({
  publication: z.object({ publishedAt: z.iso.datetime(), entries: z.number().int() }),
  /** running; interrupted (its instance stopped: another resumes it); finished; superseded by a newer publication. */
  state: z.enum(['running', 'interrupted', 'finished', 'superseded']),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  /** Subjects re-screened and to re-screen, across every org. */
  done: z.number().int(),
  total: z.number().int(),
  /** New potential matches among this org's parties. */
  newHits: z.number().int(),
});

export const rescreensView = z.object({
  /** The publication screenings use now, null before the first import. */
  current: z.object({ publishedAt: z.iso.datetime(), entries: z.number().int() }).nullable(),
  items: z.array(rescreenView),
});

// ---------------------------------------------------------------- routes

export const screeningRoutes: Route[] = [
  {
    method: 'post',
    path: '/v1/parties/:partyId/screening',
    action: 'contacts.screenParty',
    input: screenPartyInput,
    output: screeningCheckView,
    status: 201,
    roles: STAFF,
    idempotent: true,
    summary: 'Screen the party against the asset-freeze register now (the "contrôle du registre des avoirs" button)',
    description:
      'Screens the name (with the birth date when known) against the current publication of the national register of asset freezes, ' +
      'logs the check and answers it: clear, potential (candidates with their scores) or notScreened (no publication imported yet). ' +
      'Creates a check in the log, hence 201. Every staff role.',
    tag: 'Screening',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/screening',
    action: 'contacts.partyScreenings',
    input: partyScreeningsInput,
    output: screeningChecksPage,
    roles: STAFF,
    summary: "The party's screening checks (and its client contacts'), newest first",
    description: 'Every check is logged, clear or not: at save, on demand and by the re-screens. Every staff role.',
    tag: 'Screening',
  },
  {
    method: 'post',
    path: '/v1/parties/:partyId/screening/:checkId/decision',
    action: 'contacts.decideScreening',
    input: decideScreeningInput,
    output: screeningCheckView,
    roles: SCREENING_DECIDERS,
    summary: 'Confirm or dismiss the potential match of a check',
    description:
      'Only a check with the outcome potential takes a decision (else 409). The decision is logged with who took it, when and why; ' +
      'a later decision is added to the history and becomes the current one. It closes the review of a re-screen hit. Managers and admins only.',
    tag: 'Screening',
  },
  {
    method: 'get',
    path: '/v1/screening/hits',
    action: 'contacts.screeningHits',
    input: screeningHitsInput,
    output: screeningChecksPage,
    roles: SCREENING_DECIDERS,
    summary: "New potential matches found by the re-screens among the org's parties, to review, newest first",
    description: 'A hit is a party clear (or matching other entries) before a new publication and a potential match after it. Managers and admins only.',
    tag: 'Screening',
  },
  {
    method: 'get',
    path: '/v1/screening/rescreens',
    action: 'contacts.rescreens',
    input: rescreensInput,
    output: rescreensView,
    roles: SCREENING_DECIDERS,
    summary: 'The re-screens of every party after each new register publication, newest first, with their progress',
    description: "Progress counts every org's parties; newHits counts this org's own. Managers and admins only.",
    tag: 'Screening',
  },
];
