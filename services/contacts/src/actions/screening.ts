import type { ActionSchema } from 'moleculer';
import { STAFF, createdId, defineAction, notFound } from '@relais/shared';
import {
  SCREENING_DECIDERS,
  decideScreeningInput,
  decodeCheckCursor,
  encodeCheckCursor,
  partyScreeningsInput,
  rescreensInput,
  screenPartyInput,
  screeningHitsInput,
} from '../api';
import { rescreenState } from '../data/screening';
import { partyScreeningInput, subjectOfParty, toCheckView, type ScreeningCheckDoc } from '../domain/screeningChecks';
import type { ContactsDeps } from './deps';

/** One page of checks, newest first, and the cursor of the next. */
function checksPage(docs: ScreeningCheckDoc[], limit: number) {
  const items = docs.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(toCheckView), nextCursor: docs.length > limit && last ? encodeCheckCursor(last.at, last._id) : null };
}

const cursorOf = (cursor: string | undefined) => (cursor === undefined ? undefined : (decodeCheckCursor(cursor) ?? undefined));

/** Asset-freeze screening: on demand, a party's log, decisions, and the re-screens' hits and progress. */
export function screeningActions(deps: ContactsDeps): Record<string, ActionSchema> {
  async function requireParty(orgId: string, partyId: string) {
    const party = await deps.parties.byId(orgId, partyId);
    if (!party) throw notFound('Party');
    return party;
  }

  return {
    screenParty: defineAction({
      input: screenPartyInput,
      roles: STAFF,
      async handler({ partyId }, auth, ctx) {
        const party = await requireParty(auth.orgId, partyId);
        const check = await deps.screening.check({
          orgId: auth.orgId,
          subject: subjectOfParty(party._id),
          input: partyScreeningInput(party),
          trigger: 'onDemand',
          by: auth.userId,
          // With an Idempotency-Key, a retry answers the check its first attempt logged.
          id: createdId(ctx, auth.orgId),
        });
        return toCheckView(check);
      },
    }),

    partyScreenings: defineAction({
      input: partyScreeningsInput,
      roles: STAFF,
      async handler({ partyId, limit, cursor }, auth) {
        await requireParty(auth.orgId, partyId);
        return checksPage(await deps.screening.log.ofParty(auth.orgId, partyId, { limit, after: cursorOf(cursor) }), limit);
      },
    }),

    decideScreening: defineAction({
      input: decideScreeningInput,
      roles: SCREENING_DECIDERS,
      async handler({ partyId, checkId, decision, reason }, auth) {
        await requireParty(auth.orgId, partyId);
        return toCheckView(await deps.screening.decide(auth, partyId, checkId, decision, reason));
      },
    }),

    screeningHits: defineAction({
      input: screeningHitsInput,
      roles: SCREENING_DECIDERS,
      async handler({ status, limit, cursor }, auth) {
        return checksPage(await deps.screening.log.hits(auth.orgId, status, { limit, after: cursorOf(cursor) }), limit);
      },
    }),

    rescreens: defineAction({
      input: rescreensInput,
      roles: SCREENING_DECIDERS,
      async handler({ limit }, auth) {
        const [current, jobs] = await Promise.all([deps.screening.cache.current(), deps.screening.jobs.latest(limit)]);
        const now = new Date();
        const items = await Promise.all(
          jobs.map(async (job) => ({
            publication: { publishedAt: job.publishedAt.toISOString(), entries: job.entryCount },
            state: rescreenState(job, now, deps.rescreen.options.leaseMs),
            startedAt: job.startedAt.toISOString(),
            finishedAt: job.finishedAt ? job.finishedAt.toISOString() : null,
            done: job.done,
            // Parties created during the re-screen are screened by it too.
            total: Math.max(job.total, job.done),
            // The org's own hits only: the job's global count tells about other orgs' parties.
            newHits: (await deps.screening.log.countRescreen(job._id, auth.orgId)).newHits,
          })),
        );
        return { current: current ? { publishedAt: current.publishedAt.toISOString(), entries: current.entryCount } : null, items };
      },
    }),
  };
}
