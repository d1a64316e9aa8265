import { DateTime } from 'luxon';
import { AppError, conflict, makeEnvelope, validationError, type DomiciliationStatus, type Envelope, type OutboxFields } from '@relais/shared';

/** One period of domiciliation, both days included (YYYY-MM-DD, the org's calendar). */
export interface Period {
  startDate: string;
  endDate: string;
}

export type DomiciliationAction = 'request' | 'activate' | 'refuse' | 'renew' | 'changeEndDate' | 'end';
export type ChangeAction = DomiciliationAction | 'setSmsConsent';
export type HistoryField = 'status' | 'startDate' | 'endDate' | 'refusalReason' | 'smsConsent' | 'smsPhone';
export type HistoryValue = string | boolean | null;

export interface FieldChange {
  field: HistoryField;
  from: HistoryValue;
  to: HistoryValue;
}

/** One line of the append-only history: who changed which field, when, from what to what. */
export interface HistoryEntry extends FieldChange {
  at: Date;
  by: string;
  action: ChangeAction;
}

export interface SmsConsent {
  consent: boolean;
  /** Kept only while consent is given. */
  phoneE164: string | null;
  phoneRaw: string | null;
  region: string | null;
  changedAt: Date | null;
  changedBy: string | null;
}

/** A person's domiciliation as stored: one per (org, person), with the ids of the events its writes produced (outbox). */
export interface DomiciliationDoc extends OutboxFields {
  _id: string;
  orgId: string;
  personId: string;
  status: DomiciliationStatus;
  /** Oldest first, never overlapping; the last one is the current period. */
  periods: Period[];
  refusalReason: string | null;
  smsConsent: SmsConsent;
  history: HistoryEntry[];
  /** Incremented on every write; a write applies only to the version it was decided on. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DomiciliationState {
  status: DomiciliationStatus;
  periods: Period[];
  refusalReason: string | null;
}

export type Command =
  | { action: 'request' }
  | { action: 'activate'; startDate: string; endDate: string }
  | { action: 'refuse'; reason?: string }
  | { action: 'renew'; startDate?: string; endDate: string }
  | { action: 'changeEndDate'; endDate: string }
  | { action: 'end'; endDate: string };

export interface Transition {
  action: DomiciliationAction;
  next: DomiciliationState;
  /** Empty when the command changes nothing (e.g. the same end date again). */
  changes: FieldChange[];
}

/** What each status allows; anything else is refused with this list. */
export const ALLOWED: Record<DomiciliationStatus, readonly DomiciliationAction[]> = {
  requested: ['activate', 'refuse'],
  active: ['renew', 'changeEndDate', 'end'],
  refused: ['request'],
  ended: ['renew'],
};

const VERBS: Record<DomiciliationAction, string> = {
  request: 'request it again',
  activate: 'activate',
  refuse: 'refuse',
  renew: 'renew',
  changeEndDate: 'change the end date',
  end: 'end',
};

const PAST: Record<DomiciliationAction, string> = {
  request: 'requested',
  activate: 'activated',
  refuse: 'refused',
  renew: 'renewed',
  changeEndDate: 'given a new end date',
  end: 'ended',
};

export const noDomiciliation = () => new AppError('This person has no domiciliation: request one first.', 404, 'NOT_FOUND');

export const currentPeriod = (periods: readonly Period[]): Period | null => periods.at(-1) ?? null;

/** The day after a date (YYYY-MM-DD). */
export const dayAfter = (date: string): string => DateTime.fromISO(date, { zone: 'utc' }).plus({ days: 1 }).toISODate()!;

function refused(current: DomiciliationState | null, action: DomiciliationAction): never {
  if (!current) throw noDomiciliation();
  if (action === 'request') {
    throw conflict(`This person already has a domiciliation (${current.status}); allowed now: ${ALLOWED[current.status].map((a) => VERBS[a]).join(', ')}.`);
  }
  const allowed = ALLOWED[current.status].map((a) => VERBS[a]);
  const article = /^[aeiou]/.test(current.status) ? 'An' : 'A';
  throw conflict(`${article} ${current.status} domiciliation cannot be ${PAST[action]}; allowed now: ${allowed.join(', ')}.`);
}

const dateProblem = (path: string, message: string) => validationError(`Invalid input: ${path}: ${message}`, [{ path, message }]);

function diff(before: DomiciliationState | null, after: DomiciliationState): FieldChange[] {
  const b = before ? currentPeriod(before.periods) : null;
  const a = currentPeriod(after.periods);
  const pairs: [HistoryField, HistoryValue, HistoryValue][] = [
    ['status', before?.status ?? null, after.status],
    ['startDate', b?.startDate ?? null, a?.startDate ?? null],
    ['endDate', b?.endDate ?? null, a?.endDate ?? null],
    ['refusalReason', before?.refusalReason ?? null, after.refusalReason],
  ];
  return pairs.filter(([, from, to]) => from !== to).map(([field, from, to]) => ({ field, from, to }));
}

/**
 * The domiciliation state machine. Decides the next state of a command, or throws:
 * 404 when there is no domiciliation, 409 naming what is allowed, 422 for dates that
 * do not fit (a period ends after it starts; periods never overlap). Pure.
 */
export function transition(current: DomiciliationState | null, cmd: Command): Transition {
  const allowed = current ? ALLOWED[current.status].includes(cmd.action) : cmd.action === 'request';
  if (!allowed) refused(current, cmd.action);
  const periods = current?.periods ?? [];
  const last = currentPeriod(periods);
  let next: DomiciliationState;

  switch (cmd.action) {
    case 'request':
      next = { status: 'requested', periods, refusalReason: null };
      break;
    case 'activate':
      if (cmd.endDate <= cmd.startDate) throw dateProblem('endDate', `must be after the start date ${cmd.startDate}`);
      next = { ...current!, status: 'active', periods: [{ startDate: cmd.startDate, endDate: cmd.endDate }] };
      break;
    case 'refuse':
      next = { ...current!, status: 'refused', refusalReason: cmd.reason ?? null };
      break;
    case 'renew': {
      const startDate = cmd.startDate ?? dayAfter(last!.endDate);
      if (startDate <= last!.endDate) {
        throw dateProblem('startDate', `must be after ${last!.endDate}, the end of the previous period: periods cannot overlap`);
      }
      if (cmd.endDate <= startDate) throw dateProblem('endDate', `must be after the start date ${startDate}`);
      next = { ...current!, status: 'active', periods: [...periods, { startDate, endDate: cmd.endDate }] };
      break;
    }
    case 'changeEndDate':
      if (cmd.endDate <= last!.startDate) throw dateProblem('endDate', `must be after the start date ${last!.startDate}`);
      next = { ...current!, periods: [...periods.slice(0, -1), { ...last!, endDate: cmd.endDate }] };
      break;
    case 'end': {
      // Ending inside an earlier period drops the renewals that had not started yet.
      const i = periods.findIndex((p) => p.startDate <= cmd.endDate && cmd.endDate <= p.endDate);
      if (i < 0) {
        throw dateProblem(
          'endDate',
          `must fall within a period of the domiciliation (the current one runs from ${last!.startDate} to ${last!.endDate}); to extend it, change the end date or renew`,
        );
      }
      next = { ...current!, status: 'ended', periods: [...periods.slice(0, i), { ...periods[i], endDate: cmd.endDate }] };
      break;
    }
  }
  return { action: cmd.action, next, changes: diff(current, next) };
}

/** What the state machine needs from a stored document. */
export const stateOf = (doc: Pick<DomiciliationDoc, 'status' | 'periods' | 'refusalReason'>): DomiciliationState => ({
  status: doc.status,
  periods: doc.periods.map((p) => ({ startDate: p.startDate, endDate: p.endDate })),
  refusalReason: doc.refusalReason ?? null,
});

/** One write to a domiciliation: fields to set, history lines to append, events to publish with it. */
export interface Change {
  set: Partial<Pick<DomiciliationDoc, 'status' | 'periods' | 'refusalReason' | 'smsConsent'>>;
  history: HistoryEntry[];
  events: Envelope[];
}

export interface Actor {
  orgId: string;
  userId: string;
  /** The org's IANA time zone (from the call), carried by `domiciliation.changed` for consumers' dates. */
  timeZone?: string;
}

function changedEvent(
  ids: { domiciliationId: string; personId: string; eventId: string },
  state: DomiciliationState,
  actor: Actor,
  at: Date,
): Envelope<'domiciliation.changed'> {
  const period = currentPeriod(state.periods);
  return makeEnvelope(
    'domiciliation.changed',
    actor.orgId,
    {
      domiciliationId: ids.domiciliationId,
      personId: ids.personId,
      status: state.status,
      startDate: period?.startDate ?? null,
      endDate: period?.endDate ?? null,
      changedAt: at.toISOString(),
      changedBy: actor.userId,
      ...(actor.timeZone ? { timeZone: actor.timeZone } : {}),
    },
    { id: ids.eventId, occurredAt: at },
  );
}

const entries = (t: { action: ChangeAction; changes: FieldChange[] }, actor: Actor, at: Date): HistoryEntry[] =>
  t.changes.map((c) => ({ at, by: actor.userId, action: t.action, ...c }));

export const NO_CONSENT: SmsConsent = {
  consent: false,
  phoneE164: null,
  phoneRaw: null,
  region: null,
  changedAt: null,
  changedBy: null,
};

/** A new domiciliation (status requested) with its history, and its `domiciliation.changed` event. Pure. */
export function newDomiciliation(
  personId: string,
  t: Transition,
  ids: { domiciliationId: string; eventId: string },
  actor: Actor,
  at: Date,
): { doc: DomiciliationDoc; events: Envelope[] } {
  const event = changedEvent({ ...ids, personId }, t.next, actor, at);
  const doc: DomiciliationDoc = {
    _id: ids.domiciliationId,
    orgId: actor.orgId,
    personId,
    ...t.next,
    smsConsent: { ...NO_CONSENT },
    history: entries(t, actor, at),
    version: 1,
    eventIds: [event.id],
    createdAt: at,
    updatedAt: at,
  };
  return { doc, events: [event] };
}

/** The write a transition of an existing domiciliation makes, or null when it changes nothing. Pure. */
export function domiciliationChange(doc: Pick<DomiciliationDoc, '_id' | 'personId'>, t: Transition, eventId: string, actor: Actor, at: Date): Change | null {
  if (t.changes.length === 0) return null;
  return {
    set: { status: t.next.status, periods: t.next.periods, refusalReason: t.next.refusalReason },
    history: entries(t, actor, at),
    events: [changedEvent({ domiciliationId: doc._id, personId: doc.personId, eventId }, t.next, actor, at)],
  };
}

export interface ActiveStatus {
  personId: string;
  active: boolean;
  status: DomiciliationStatus | null;
  startDate: string | null;
  endDate: string | null;
}

/**
 * Whether a person is domiciled today: status active and today inside one of the periods
 * (a renewal made before the end starts the day after it, so the person stays active
 * throughout). The dates are those of the current (last) period. Pure.
 */
export function activeStatus(personId: string, doc: Pick<DomiciliationDoc, 'status' | 'periods'> | null, today: string): ActiveStatus {
  if (!doc) return { personId, active: false, status: null, startDate: null, endDate: null };
  const period = currentPeriod(doc.periods);
  const inPeriod = doc.periods.some((p) => p.startDate <= today && today <= p.endDate);
  return {
    personId,
    active: doc.status === 'active' && inPeriod,
    status: doc.status,
    startDate: period?.startDate ?? null,
    endDate: period?.endDate ?? null,
  };
}
