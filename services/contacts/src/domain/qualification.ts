import type { ChannelKind, EvidenceKind, InvalidReason, QualificationState } from '../contract/vocabulary';
import {
  capitalize,
  describeChannel,
  lastContactProblem,
  locate,
  reachableChannels,
  replaceParties,
  settlePrimary,
  type Channel,
  type ChannelProblem,
  type FileParties,
  type Outcome,
  type PartyChannels,
  type PrimaryChange,
  type Stamp,
} from './channels';

/**
 * Qualification of a channel (seed 002): pending until some evidence validates or invalidates
 * it; a validated channel may be the default of its kind, proposed for every manual action
 * and used by every automatic one. A pure state machine: each transition returns the new
 * qualification and the history entry that records it (who, when, evidence or reason). Its
 * states, kinds of evidence and reasons of invalidity are the contract's (contract/vocabulary.ts).
 */

interface Cause {
  /** Which channel kinds it can be said of. */
  kinds: readonly ChannelKind[];
  /** How it reads in a sentence. */
  says: string;
}

/** What shows that a channel works. */
export const EVIDENCE: Record<EvidenceKind, Cause> = {
  outboundCall: { kinds: ['phone'], says: 'an outbound call got through' },
  inboundCall: { kinds: ['phone'], says: 'a call came in from this number' },
  smsDelivered: { kinds: ['phone'], says: 'an SMS was delivered' },
  emailDelivered: { kinds: ['email'], says: 'an e-mail was delivered' },
  emailReceived: { kinds: ['email'], says: 'an e-mail came in from this address' },
  acknowledgmentOfReceipt: { kinds: ['postal'], says: 'an acknowledgment of receipt came back' },
  incomingMail: { kinds: ['postal'], says: 'mail came in from this address' },
  confirmedByParty: { kinds: ['phone', 'email', 'postal'], says: 'the person confirmed it' },
};

/** What shows that a channel does not reach the party. */
export const INVALIDITY: Record<InvalidReason, Cause> = {
  numberNotAttributed: { kinds: ['phone'], says: 'the number is not attributed' },
  notAMobile: { kinds: ['phone'], says: 'the operator answered that it is not a mobile number' },
  hardBounce: { kinds: ['email'], says: 'e-mail to it bounced for good (hard bounce)' },
  returnedMail: { kinds: ['postal'], says: 'mail came back undelivered' },
  wrongPerson: { kinds: ['phone', 'email', 'postal'], says: 'it reaches someone else' },
  other: { kinds: ['phone', 'email', 'postal'], says: 'another reason' },
};

// Commands come from validated input, but a fact from another service may carry a code this version does not know.
const evidenceCause = (kind: string): Cause | undefined => (EVIDENCE as Record<string, Cause>)[kind];
const invalidityCause = (reason: string): Cause | undefined => (INVALIDITY as Record<string, Cause>)[reason];

export interface Evidence {
  kind: EvidenceKind;
  note?: string;
  /** What it came from: a delivery or exchange id. */
  ref?: string;
  /** When it happened, if not when it was recorded (a delivery report arrives later). */
  occurredAt?: Date;
}

export interface Invalidity {
  reason: InvalidReason;
  /** Required for `other`: the reason in words. */
  note?: string;
  ref?: string;
  occurredAt?: Date;
}

export type QualificationAction = 'validate' | 'invalidate' | 'cancel' | 'setDefault' | 'defaultReplaced' | 'valueChanged';

/** One line of a channel's append-only qualification history. */
export interface QualificationEntry {
  at: Date;
  /** A user id, or the service that reported the fact when `automatic`. */
  by: string;
  automatic: boolean;
  action: QualificationAction;
  from: QualificationState;
  to: QualificationState;
  evidence?: Evidence;
  invalidity?: Invalidity;
  /** setDefault: the channel that was the default before; defaultReplaced: the one that is now. */
  otherChannelId?: string;
}

export interface Qualification {
  state: QualificationState;
  /** Why it is validated (validated, default). */
  evidence?: Evidence;
  /** Why it is invalid. */
  invalidity?: Invalidity;
  /** Oldest first. */
  history: QualificationEntry[];
}

export type QualificationCommand =
  | { action: 'validate'; evidence: Evidence }
  | { action: 'invalidate'; invalidity: Invalidity }
  | { action: 'cancel' }
  /** `confirm` answers "Oui" to replacing the current default of the same kind on the file. */
  | { action: 'setDefault'; confirm?: boolean };

/** What each state allows; anything else is refused, saying what is allowed. */
export const ALLOWED: Record<QualificationState, readonly QualificationCommand['action'][]> = {
  pending: ['validate', 'invalidate'],
  validated: ['setDefault', 'invalidate', 'cancel'],
  default: ['invalidate', 'cancel'],
  invalid: ['validate', 'cancel'],
};

const VERBS: Record<QualificationCommand['action'], string> = {
  validate: 'validate it',
  invalidate: 'mark it invalid',
  cancel: 'cancel its qualification',
  setDefault: 'make it the default',
};

const KIND_WORDS: Record<ChannelKind, string> = { phone: 'phone', email: 'e-mail address', postal: 'postal address' };

const refuse = (code: ChannelProblem['code'], message: string, path?: string): { ok: false; problem: ChannelProblem } => ({
  ok: false,
  problem: { code, message, ...(path ? { path } : {}) },
});

function stateRefusal(channel: Channel, action: QualificationCommand['action']): string {
  const { state, invalidity } = channel.qualification;
  const it = capitalize(describeChannel(channel));
  const allowed = `; allowed now: ${ALLOWED[state].map((a) => VERBS[a]).join(', ')}.`;
  const why = invalidity ? ` (${reasonWords(invalidity)})` : '';
  if (action === 'validate') return `${it} is already validated${state === 'default' ? ' and the default' : ''}${allowed}`;
  if (action === 'invalidate') return `${it} is already marked invalid${why}${allowed}`;
  if (action === 'cancel') return `${it} is pending qualification: there is no validation or invalidation to cancel${allowed}`;
  if (state === 'default') return `${it} is already the default ${KIND_WORDS[channel.kind]}.`;
  if (state === 'pending') return `Only a validated channel can be the default: validate ${describeChannel(channel)} first, with the evidence that it works.`;
  return `${it} is marked invalid${why}, so it cannot be the default; validate it again first.`;
}

const reasonWords = (invalidity: Invalidity) => (invalidity.reason === 'other' && invalidity.note ? invalidity.note : INVALIDITY[invalidity.reason].says);

/** Evidence or reason must fit the channel: a postal address is not validated by a call. */
function causeProblem(channel: Channel, command: QualificationCommand): ChannelProblem | null {
  if (command.action === 'validate') {
    const cause = evidenceCause(command.evidence.kind);
    if (!cause) return { code: 'evidence-mismatch', message: `"${command.evidence.kind}" is not a kind of evidence`, path: 'evidence.kind' };
    if (!cause.kinds.includes(channel.kind)) {
      return { code: 'evidence-mismatch', message: `"${cause.says}" cannot validate ${describeChannel(channel)}`, path: 'evidence.kind' };
    }
  }
  if (command.action === 'invalidate') {
    const { reason, note } = command.invalidity;
    const cause = invalidityCause(reason);
    if (!cause) return { code: 'evidence-mismatch', message: `"${reason}" is not a reason for a channel to be invalid`, path: 'invalidity.reason' };
    if (!cause.kinds.includes(channel.kind) || (reason === 'notAMobile' && channel.kind === 'phone' && channel.type !== 'mobile')) {
      return { code: 'evidence-mismatch', message: `"${cause.says}" cannot be said of ${describeChannel(channel)}`, path: 'invalidity.reason' };
    }
    if (reason === 'other' && !note?.trim()) {
      return { code: 'note-required', message: 'say why the channel is invalid in the note', path: 'invalidity.note' };
    }
  }
  return null;
}

/**
 * One channel's transition, on its own: the new qualification and its history entry, or why
 * not. The default rule across the file is `qualify`'s. Pure.
 */
export function transition(
  channel: Channel,
  command: QualificationCommand,
  stamp: Stamp & { automatic?: boolean; otherChannelId?: string },
): Outcome<{ qualification: Qualification; entry: QualificationEntry }> {
  const current = channel.qualification;
  if (!ALLOWED[current.state].includes(command.action)) return refuse('transition-refused', stateRefusal(channel, command.action));
  const mismatch = causeProblem(channel, command);
  if (mismatch) return { ok: false, problem: mismatch };

  const to: QualificationState =
    command.action === 'validate' ? 'validated' : command.action === 'invalidate' ? 'invalid' : command.action === 'cancel' ? 'pending' : 'default';
  const entry: QualificationEntry = {
    at: stamp.at,
    by: stamp.by,
    automatic: stamp.automatic ?? false,
    action: command.action,
    from: current.state,
    to,
    ...(command.action === 'validate' ? { evidence: command.evidence } : {}),
    ...(command.action === 'invalidate' ? { invalidity: command.invalidity } : {}),
    ...(stamp.otherChannelId ? { otherChannelId: stamp.otherChannelId } : {}),
  };
  const qualification: Qualification = {
    state: to,
    // Becoming the default keeps the evidence that validated it.
    ...(to === 'validated' || to === 'default' ? { evidence: command.action === 'validate' ? command.evidence : current.evidence } : {}),
    ...(command.action === 'invalidate' ? { invalidity: command.invalidity } : {}),
    history: [...current.history, entry],
  };
  return { ok: true, qualification, entry };
}

/** The current default of a kind on a file, whatever party holds it. */
export function defaultOf(file: FileParties, kind: ChannelKind): { party: PartyChannels; channel: Channel } | null {
  for (const party of file) {
    const channel = party.channels.find((c) => c.kind === kind && c.qualification.state === 'default');
    if (channel) return { party, channel };
  }
  return null;
}

/** A history entry with the channel it belongs to. */
export interface ChannelEntry {
  partyId: string;
  channelId: string;
  entry: QualificationEntry;
}

export interface QualifyChange {
  /** The parties of the file whose channels changed, as they are now; the others are untouched. */
  parties: PartyChannels[];
  entries: ChannelEntry[];
  /** To publish as contact.primaryChanged. */
  primaryChanges: PrimaryChange[];
}

function withQualification(party: PartyChannels, channelId: string, qualification: Qualification, stamp: Stamp): PartyChannels {
  return {
    ...party,
    channels: party.channels.map((c) => (c.id === channelId ? { ...c, qualification, updatedAt: stamp.at, updatedBy: stamp.by } : c)),
  };
}

/**
 * Qualifies a channel of a file by a person's command: validate with evidence, mark invalid
 * with a reason, cancel, or make it the default of its kind. The default is one per kind on
 * the file (across all its debtors): replacing the current one needs `confirm`, else a
 * conflict names it; with it, the former default goes back to validated, recorded in its own
 * history. Marking invalid is refused for the file's last phone or e-mail, and an invalid
 * primary hands the star to its successor. Pure.
 */
export function qualify(file: FileParties, partyId: string, channelId: string, command: QualificationCommand, stamp: Stamp): Outcome<QualifyChange> {
  const found = locate(file, partyId, channelId);
  if (!found.ok) return found;
  const { party, channel } = found;
  const current = command.action === 'setDefault' ? defaultOf(file, channel.kind) : null;
  const moved = transition(channel, command, { ...stamp, ...(current ? { otherChannelId: current.channel.id } : {}) });
  if (!moved.ok) return moved;

  const changed = new Map<string, PartyChannels>();
  const entries: ChannelEntry[] = [];
  if (current && command.action === 'setDefault') {
    if (!command.confirm) {
      const whose = file.length > 1 ? ` of ${current.party.name}` : '';
      return refuse(
        'default-exists',
        `The default ${KIND_WORDS[channel.kind]} of this file is ${describeChannel(current.channel)}${whose}; ` +
          `confirm to use ${describeChannel(channel)} instead.`,
      );
    }
    const former = current.channel.qualification;
    const entry: QualificationEntry = {
      at: stamp.at,
      by: stamp.by,
      automatic: false,
      action: 'defaultReplaced',
      from: 'default',
      to: 'validated',
      otherChannelId: channelId,
    };
    const demoted: Qualification = {
      state: 'validated',
      ...(former.evidence ? { evidence: former.evidence } : {}),
      history: [...former.history, entry],
    };
    changed.set(current.party.partyId, withQualification(current.party, current.channel.id, demoted, stamp));
    entries.push({ partyId: current.party.partyId, channelId: current.channel.id, entry });
  }

  changed.set(partyId, withQualification(changed.get(partyId) ?? party, channelId, moved.qualification, stamp));
  entries.push({ partyId, channelId, entry: moved.entry });
  if (command.action === 'invalidate') {
    const last = lastContactProblem(file, replaceParties(file, [...changed.values()]), channel, 'invalidation');
    if (last) return { ok: false, problem: last };
  }
  return { ok: true, entries, ...settled(file, [...changed.values()]) };
}

function settled(file: FileParties, changed: PartyChannels[]): { parties: PartyChannels[]; primaryChanges: PrimaryChange[] } {
  const parties: PartyChannels[] = [];
  const primaryChanges: PrimaryChange[] = [];
  for (const after of changed) {
    const before = file.find((p) => p.partyId === after.partyId) ?? null;
    const { party, primaryChange } = settlePrimary(before, after);
    parties.push(party);
    if (primaryChange) primaryChanges.push(primaryChange);
  }
  return { parties, primaryChanges };
}

// ---------------------------------------------------------------------------------------------
// Evidence that arrives on its own

/** A delivery's outcome as the notifications service reports it. */
export type DeliveryOutcome =
  | { medium: 'sms' | 'email'; status: 'delivered'; ref: string; occurredAt: Date }
  /** `notAMobile`: the operator says the number cannot take SMS; `permanent` when it will not change on retry. */
  | { medium: 'sms'; status: 'failed'; error: 'notAMobile' | 'other'; permanent: boolean; ref: string; occurredAt: Date }
  | { medium: 'email'; status: 'failed'; bounce: 'hard' | 'soft' | null; ref: string; occurredAt: Date };

/** A fact about a channel that no person typed: what it says, who reported it, when it happened. */
export interface AutomaticFact {
  command: Extract<QualificationCommand, { action: 'validate' | 'invalidate' }>;
  /** The reporting service, recorded as `by`. */
  source: string;
  occurredAt: Date;
}

/**
 * What a delivery outcome says about the channel it went to: a delivered SMS or e-mail
 * validates; a hard bounce, or a permanent "not a mobile" answer, invalidates; anything
 * else (soft bounces, transient or unexplained failures) says nothing.
 */
export function factFromDelivery(outcome: DeliveryOutcome, source = 'notifications'): AutomaticFact | null {
  const base = { source, occurredAt: outcome.occurredAt };
  if (outcome.status === 'delivered') {
    const kind = outcome.medium === 'sms' ? 'smsDelivered' : 'emailDelivered';
    return { ...base, command: { action: 'validate', evidence: { kind, ref: outcome.ref, occurredAt: outcome.occurredAt } } };
  }
  if (outcome.medium === 'sms' && outcome.error === 'notAMobile' && outcome.permanent) {
    return { ...base, command: { action: 'invalidate', invalidity: { reason: 'notAMobile', ref: outcome.ref, occurredAt: outcome.occurredAt } } };
  }
  if (outcome.medium === 'email' && outcome.bounce === 'hard') {
    return { ...base, command: { action: 'invalidate', invalidity: { reason: 'hardBounce', ref: outcome.ref, occurredAt: outcome.occurredAt } } };
  }
  return null;
}

export interface AutomaticChange extends QualifyChange {
  /** False when the fact changes nothing: the channel already says it, or a person decided after it. */
  changed: boolean;
  /**
   * The fact took the file's last phone or e-mail: it is recorded all the same (a bounce is a
   * bounce), and staff should be told the file can no longer be reached.
   */
  lastContactLost: boolean;
}

const unchanged = { ok: true as const, changed: false, lastContactLost: false, parties: [], entries: [], primaryChanges: [] };

/**
 * Records an automatic fact about a channel. It only moves a pending channel to validated,
 * and a channel that is not invalid to invalid: it never overrides a person's invalidation,
 * never repeats what the channel already says, and is ignored when a person qualified the
 * channel after it happened (reports arrive late and out of order). `notAMobile` only
 * invalidates channels typed mobile: a landline that cannot take SMS still takes calls. The
 * at-least-one rule does not hold it back: see `lastContactLost`. Pure and idempotent.
 */
export function applyFact(file: FileParties, partyId: string, channelId: string, fact: AutomaticFact, at: Date): Outcome<AutomaticChange> {
  const found = locate(file, partyId, channelId);
  if (!found.ok) return found;
  const { party, channel } = found;
  const { command } = fact;
  const said = command.action === 'validate' ? command.evidence.kind : command.invalidity.reason;
  const cause = command.action === 'validate' ? evidenceCause(said) : invalidityCause(said);
  if (!cause?.kinds.includes(channel.kind)) {
    return refuse('evidence-mismatch', `"${said}" reported by ${fact.source} cannot be said of ${describeChannel(channel)}`);
  }

  const { state, history } = channel.qualification;
  const lastChange = history.at(-1)?.at ?? channel.createdAt;
  if (fact.occurredAt < lastChange) return unchanged;
  if (command.action === 'validate' && state !== 'pending') return unchanged;
  if (command.action === 'invalidate') {
    if (state === 'invalid') return unchanged;
    if (command.invalidity.reason === 'notAMobile' && !(channel.kind === 'phone' && channel.type === 'mobile')) return unchanged;
  }

  const moved = transition(channel, command, { by: fact.source, at, automatic: true });
  if (!moved.ok) return moved;
  const after = withQualification(party, channelId, moved.qualification, { by: fact.source, at });
  const lastContactLost = reachableChannels(file).length > 0 && reachableChannels(replaceParties(file, [after])).length === 0;
  return {
    ok: true,
    changed: true,
    lastContactLost,
    entries: [{ partyId, channelId, entry: moved.entry }],
    ...settled(file, [after]),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading the history

export interface HistoryLine {
  at: string;
  by: string;
  automatic: boolean;
  action: QualificationAction;
  from: QualificationState;
  to: QualificationState;
  evidence?: View<Evidence>;
  invalidity?: View<Invalidity>;
  otherChannelId?: string;
  /** The entry in a sentence. */
  summary: string;
}

/** Evidence or invalidity with its date as an ISO string. */
type View<T extends { occurredAt?: Date }> = Omit<T, 'occurredAt'> & { occurredAt?: string };

function causeView<T extends { occurredAt?: Date }>(cause: T): View<T> {
  const { occurredAt, ...rest } = cause;
  return { ...rest, ...(occurredAt ? { occurredAt: occurredAt.toISOString() } : {}) };
}

/** The sentence of a history entry: "validated: an outbound call got through (spoke to Mrs Hoarau)". */
export function describeEntry(entry: QualificationEntry): string {
  const note = (n?: string) => (n ? ` (${n})` : '');
  switch (entry.action) {
    case 'validate':
      return `validated: ${EVIDENCE[entry.evidence!.kind].says}${note(entry.evidence!.note)}`;
    case 'invalidate': {
      const inv = entry.invalidity!;
      return inv.reason === 'other' ? `marked invalid: ${inv.note}` : `marked invalid: ${INVALIDITY[inv.reason].says}${note(inv.note)}`;
    }
    case 'cancel':
      return entry.from === 'invalid' ? 'invalidation cancelled: pending qualification again' : 'validation cancelled: pending qualification again';
    case 'setDefault':
      return entry.otherChannelId ? 'made the default, in place of the former default' : 'made the default';
    case 'defaultReplaced':
      return 'no longer the default: another channel was made the default';
    case 'valueChanged':
      return 'value changed: pending qualification again';
  }
}

/** A channel's qualification history, newest first, as the API shows it. */
export function qualificationHistory(channel: Channel): HistoryLine[] {
  return [...channel.qualification.history].reverse().map((e) => ({
    at: e.at.toISOString(),
    by: e.by,
    automatic: e.automatic,
    action: e.action,
    from: e.from,
    to: e.to,
    ...(e.evidence ? { evidence: causeView(e.evidence) } : {}),
    ...(e.invalidity ? { invalidity: causeView(e.invalidity) } : {}),
    ...(e.otherChannelId ? { otherChannelId: e.otherChannelId } : {}),
    summary: describeEntry(e),
  }));
}
