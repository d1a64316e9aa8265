import type { ConsentMethod, ConsentName } from '../contract/clientContacts';

/**
 * The consents of a client contact (seed 003): electronic signature, commercial e-mails and
 * partner e-mails, each a yes or no, every change kept in a ledger that says who recorded it,
 * when and how it was collected, and the wording the contact was shown: the proof an org needs
 * to show that a consent was given (GDPR art. 7(1)). Pure: ids and clock come from the caller.
 */

export type Consents = Record<ConsentName, boolean>;

/**
 * Everything starts refused. Commercial and partner e-mails need a prior, explicit consent
 * (CPCE L.34-5); an unticked electronic signature means the contact cannot be sent a letter to sign.
 */
export const DEFAULT_CONSENTS: Consents = Object.freeze({ electronicSignature: false, commercialEmails: false, partnerEmails: false });

/** One change of a consent: given (granted) or refused / withdrawn. */
export interface ConsentEntry {
  id: string;
  consent: ConsentName;
  granted: boolean;
  method: ConsentMethod;
  /** The wording shown to the contact; always there for a consent given. */
  wording: string | null;
  note?: string;
  /** When the contact gave or withdrew it (a paper form signed last week). */
  collectedAt: Date;
  /** When and by whom it was recorded. */
  recordedAt: Date;
  recordedBy: string;
}

export interface ConsentCommand {
  consent: ConsentName;
  granted: boolean;
  method: ConsentMethod;
  wording?: string;
  note?: string;
  collectedAt?: Date;
}

export type ConsentOutcome = { ok: true; consents: Consents; entry: ConsentEntry | null } | { ok: false; field: 'wording' | 'collectedAt'; message: string };

/**
 * The consents after a command, and the ledger entry that records it. Setting a consent to the
 * value it has records nothing (entry null): the ledger holds changes, and a retried request
 * must not write a second one. A consent given must say what the contact was shown.
 */
export function changeConsent(current: Consents, command: ConsentCommand, ctx: { id: string; at: Date; by: string }): ConsentOutcome {
  if (command.granted && !command.wording) {
    return { ok: false, field: 'wording', message: 'is required to record a consent given: the wording the contact was shown' };
  }
  const collectedAt = command.collectedAt ?? ctx.at;
  // A little slack for the clocks of the client and the server.
  if (collectedAt.getTime() > ctx.at.getTime() + 5 * 60_000) return { ok: false, field: 'collectedAt', message: 'cannot be in the future' };
  if (current[command.consent] === command.granted) return { ok: true, consents: current, entry: null };
  const entry: ConsentEntry = {
    id: ctx.id,
    consent: command.consent,
    granted: command.granted,
    method: command.method,
    wording: command.wording ?? null,
    ...(command.note ? { note: command.note } : {}),
    collectedAt,
    recordedAt: ctx.at,
    recordedBy: ctx.by,
  };
  return { ok: true, consents: { ...current, [command.consent]: command.granted }, entry };
}

/** The consents as the ledger tells them: defaults, then each entry in order. */
export function consentsFromLedger(ledger: readonly ConsentEntry[]): Consents {
  return ledger.reduce<Consents>((c, e) => ({ ...c, [e.consent]: e.granted }), { ...DEFAULT_CONSENTS });
}

export function toLedgerEntryView(e: ConsentEntry) {
  return {
    id: e.id,
    consent: e.consent,
    granted: e.granted,
    method: e.method,
    wording: e.wording,
    ...(e.note !== undefined ? { note: e.note } : {}),
    collectedAt: e.collectedAt.toISOString(),
    recordedAt: e.recordedAt.toISOString(),
    recordedBy: e.recordedBy,
  };
}
