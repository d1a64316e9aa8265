/*
 * Intervention requests (DIT): what the client asked for, whom it concerns on the client's side
 * (the interlocutor, one of the client's contacts), who handles it, and where it stands. Pure.
 */

/** Open while the work goes on, done once the report (CRIT) is in, closed when nothing more is expected. */
export const REQUEST_STATUSES = ['open', 'done', 'closed'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export interface RequestDoc {
  _id: string;
  orgId: string;
  /** Per org, in order of registration: what people read and say (see requestNumber). */
  number: number;
  /** The client's party in the contacts service. */
  clientId: string;
  /** The client's contact the request is followed with (its number among the client's contacts). */
  interlocutor: number | null;
  title: string;
  assignedTo: string | null;
  team: string | null;
  status: RequestStatus;
  openedAt: Date;
  doneAt: Date | null;
  closedAt: Date | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The number as people read it: `DIT-` and at least five digits (DIT-00042). Pure. */
export const requestNumber = (n: number): string => `DIT-${String(n).padStart(5, '0')}`;

/** Which moves each status allows: done can reopen (the work was not finished); closed is final. */
const MOVES: Record<RequestStatus, readonly RequestStatus[]> = {
  open: ['done', 'closed'],
  done: ['open', 'closed'],
  closed: [],
};

/** Why `r` cannot move to `to`, or null when it can. Pure. */
export function moveRefusal(r: Pick<RequestDoc, 'status'>, to: RequestStatus): string | null {
  if (r.status === to) return null;
  return MOVES[r.status].includes(to) ? null : `a ${r.status} request cannot become ${to}`;
}

/** The request moved to `to` at `at`, its dates following (reopening clears the done date). Pure. */
export function moved(r: RequestDoc, to: RequestStatus, at: Date): RequestDoc {
  if (r.status === to) return r;
  return {
    ...r,
    status: to,
    doneAt: to === 'done' ? at : to === 'open' ? null : r.doneAt,
    closedAt: to === 'closed' ? at : null,
    updatedAt: at,
  };
}

/**
 * Why the client may not post on `r` from the portal at `now`, or null when they may (seed 004:
 * "une intervention en cours ou qui vient d'être terminée"): an open request, or one done less than
 * `days` ago. Pure.
 */
export function portalPostRefusal(r: Pick<RequestDoc, 'status' | 'doneAt'>, now: Date, days: number): string | null {
  if (r.status === 'open') return null;
  if (r.status === 'done' && r.doneAt && now.getTime() - r.doneAt.getTime() < days * 86_400_000) return null;
  return r.status === 'closed'
    ? 'this request is closed: messages can no longer be posted on it'
    : `this request was completed more than ${days} days ago: messages can no longer be posted on it`;
}
