import type { ActionSchema } from 'moleculer';
import {
  AppError,
  STAFF,
  conflict,
  createdId,
  defineAction,
  defineSystemAction,
  isTimeZone,
  notFound,
  orgOf,
  todayIn,
  validationError,
  type AuthContext,
  type RelaisContext,
} from '@relais/shared';
import {
  AUDITORS,
  DELETERS,
  WRITERS,
  changeConsentInput,
  clientContactRefInput,
  createClientContactInput,
  deleteClientContactInput,
  listClientContactsInput,
  partyId as partyIdSchema,
  recipientsForInput,
  recipientsInput,
  updateClientContactInput,
} from '../api';
import { z } from 'zod';
import { ConcurrentChangeError } from '../data/parties';
import { requireOverrideRole } from '../screening';
import {
  MAX_CONTACTS,
  applyConsent,
  clientAddressOf,
  contactNumbered,
  defaultDisplayOrder,
  deletionProblem,
  deletionsView,
  isDeleted,
  listed,
  liveContacts,
  missingContact,
  newContact,
  nextNumber,
  readContactFields,
  recipientsOf,
  revisionsView,
  selfContactId,
  selfContactState,
  tombstoneOf,
  toContactView,
  toRecipientView,
  updateContact,
  type ClientAddress,
  type ClientContactDoc,
  type ContactFieldsInput,
  type ContactOutcome,
  type ContactProblem,
  type ContactState,
  type StoredContact,
} from '../domain/clientContacts';
import { toLedgerEntryView } from '../domain/consent';
import { contactScreeningInput, toCheckView } from '../domain/screeningChecks';
import { partyName } from '../domain/parties';
import type { PartyDoc } from '../files';
import type { ContactsDeps } from './deps';

/** The shared error of a domain refusal (the gateway maps it to problem+json). */
function contactError(problem: ContactProblem): AppError {
  if (problem.status === 422) return validationError(problem.message, problem.fields ?? []);
  if (problem.status === 409) return conflict(problem.message);
  return new AppError(problem.message, 404, 'NOT_FOUND');
}

function accepted<T>(outcome: ContactOutcome<T>): { ok: true } & T {
  if (!outcome.ok) throw contactError(outcome.problem);
  return outcome;
}

/** Creations on one client that lose the race for a number read again this many times. */
const NUMBER_ATTEMPTS = 12;

/** Today in the org's time zone, or a 422 for a zone nobody knows (only internal callers pass one). */
function today(timeZone: string): string {
  if (!isTimeZone(timeZone))
    throw validationError(`Invalid input: timeZone: "${timeZone}" is not an IANA time zone`, [{ path: 'timeZone', message: 'is not an IANA time zone' }]);
  return todayIn(timeZone, new Date());
}

/** The client contacts of a party (seed 003): its référents, their consents, the correspondence each receives. */
export function clientContactActions(deps: ContactsDeps): Record<string, ActionSchema> {
  /** A party of the org, else a 404: another org's client looks like no client. */
  async function requireParty(orgId: string, partyId: string): Promise<PartyDoc> {
    const party = await deps.parties.byId(orgId, partyId);
    if (!party) throw notFound('Party');
    return party;
  }

  /**
   * Every contact the client ever had. An individual client's first contact is the client: it is
   * created the first time the client's contacts are reached at all (no contact, no tombstone),
   * rather than when the person is created, so that people whose files predate client contacts
   * get theirs too, without a migration, and the file's channels of that moment are copied. The
   * id is derived from the party, so concurrent first reads insert one contact between them.
   */
  async function contactsOf(orgId: string, party: PartyDoc, by: string): Promise<StoredContact[]> {
    const docs = await deps.clientContacts.ofParty(orgId, party._id);
    if (docs.length > 0 || party.kind !== 'person') return docs;
    const self = newContact(
      {
        id: selfContactId(orgId, party._id),
        orgId,
        partyId: party._id,
        number: 1,
        self: true,
        state: selfContactState({ name: partyName(party), channels: party.channels ?? [] }),
      },
      { by, at: new Date() },
    );
    if (await deps.clientContacts.insert(self)) return [self];
    // Another request created it (or a first contact) meanwhile.
    return deps.clientContacts.ofParty(orgId, party._id);
  }

  /** The typed fields read, the client's address copied when asked. */
  function fieldsOf(input: ContactFieldsInput, party: PartyDoc, ctx: RelaisContext): Partial<ContactState> {
    const clientAddress: ClientAddress | null = input.copyClientAddress ? clientAddressOf(party.channels ?? []) : null;
    return accepted(readContactFields(input, { orgRegion: orgOf(ctx).region, clientAddress })).fields;
  }

  /** Applies a decision to a live contact of the client; a 404 when there is none of that number. */
  async function change(orgId: string, partyId: string, number: number, decide: (doc: ClientContactDoc) => StoredContact | null): Promise<StoredContact> {
    try {
      const doc = await deps.clientContacts.update(orgId, partyId, number, (current) => {
        if (isDeleted(current)) throw contactError(missingContact(number));
        return decide(current);
      });
      if (!doc) throw contactError(missingContact(number));
      return doc;
    } catch (err) {
      if (err instanceof ConcurrentChangeError) throw conflict('This contact was being changed by someone else at the same time; reload it and try again.');
      throw err;
    }
  }

  /** A live contact of the client (the client's own created first if due), or a 404. */
  async function contact(auth: AuthContext, partyId: string, number: number): Promise<ClientContactDoc> {
    const party = await requireParty(auth.orgId, partyId);
    return accepted(contactNumbered(await contactsOf(auth.orgId, party, auth.userId), number)).doc;
  }

  async function recipients(orgId: string, partyId: string, role: Parameters<typeof recipientsOf>[1], date: string, by: string) {
    const party = await requireParty(orgId, partyId);
    const docs = await contactsOf(orgId, party, by);
    return { partyId, role, date, items: recipientsOf(docs, role, date).map(toRecipientView) };
  }

  return {
    listClientContacts: defineAction({
      input: listClientContactsInput,
      roles: STAFF,
      async handler({ partyId, validAsOf, all }, auth, ctx) {
        const party = await requireParty(auth.orgId, partyId);
        const docs = await contactsOf(auth.orgId, party, auth.userId);
        const date = validAsOf ?? today(orgOf(ctx).timeZone);
        return { validAsOf: date, all, items: listed(docs, all ? null : date).map((d) => toContactView(d, date)) };
      },
    }),

    createClientContact: defineAction({
      input: createClientContactInput,
      roles: WRITERS,
      async handler(input, auth, ctx) {
        const { partyId } = input;
        const party = await requireParty(auth.orgId, partyId);
        const id = createdId(ctx, auth.orgId);
        const now = today(orgOf(ctx).timeZone);
        /** The contact a retried creation (same Idempotency-Key) made the first time, as its answer. */
        const replay = (first: StoredContact) => {
          if (first.partyId !== partyId)
            throw conflict('This Idempotency-Key was already used to add a contact to another client; send this one with a new key.');
          if (isDeleted(first)) throw conflict('The contact this request created has been deleted since; send it again with a new Idempotency-Key.');
          return toContactView(first, now);
        };
        requireOverrideRole(auth, input.screeningOverride);
        const earlier = await deps.clientContacts.byId(auth.orgId, id);
        if (earlier) return replay(earlier);
        const fields = fieldsOf(input, party, ctx);
        let docs = await contactsOf(auth.orgId, party, auth.userId);
        // The contact's name is screened against the asset-freeze register before anything is written.
        const screened = {
          orgId: auth.orgId,
          subject: { kind: 'clientContact' as const, id, partyId },
          input: contactScreeningInput(input.name),
          auth,
          override: input.screeningOverride,
        };
        return deps.screening.guard(screened, async () => {
          for (let attempt = 0; attempt < NUMBER_ATTEMPTS; attempt++) {
            if (liveContacts(docs).length >= MAX_CONTACTS) throw conflict(`A client has at most ${MAX_CONTACTS} contacts; end or delete some first.`);
            const state: ContactState = {
              name: input.name,
              function: input.function,
              displayOrder: defaultDisplayOrder(docs),
              email: null,
              phones: [],
              address: null,
              addressCopiedFrom: null,
              routingRoles: [],
              endDate: null,
              ...fields,
            };
            const doc = newContact({ id, orgId: auth.orgId, partyId, number: nextNumber(docs), state }, { by: auth.userId, at: new Date() });
            if (await deps.clientContacts.insert(doc)) return toContactView(doc, now);
            // Its id taken: a retry whose first answer was lost. Else its number: another creation got it first.
            const first = await deps.clientContacts.byId(auth.orgId, id);
            if (first) return replay(first);
            docs = await deps.clientContacts.ofParty(auth.orgId, partyId);
          }
          throw conflict('Too many contacts were being added to this client at the same time; try again.');
        });
      },
    }),

    getClientContact: defineAction({
      input: clientContactRefInput,
      roles: STAFF,
      async handler({ partyId, contactNumber }, auth, ctx) {
        return toContactView(await contact(auth, partyId, contactNumber), today(orgOf(ctx).timeZone));
      },
    }),

    screenClientContact: defineAction({
      input: clientContactRefInput,
      roles: STAFF,
      async handler({ partyId, contactNumber }, auth, ctx) {
        const doc = await contact(auth, partyId, contactNumber);
        const check = await deps.screening.check({
          orgId: auth.orgId,
          subject: { kind: 'clientContact', id: doc._id, partyId },
          input: contactScreeningInput(doc.name),
          trigger: 'onDemand',
          by: auth.userId,
          // With an Idempotency-Key, a retry answers the check its first attempt logged.
          id: createdId(ctx, auth.orgId),
        });
        return toCheckView(check);
      },
    }),

    updateClientContact: defineAction({
      input: updateClientContactInput,
      roles: WRITERS,
      async handler({ partyId, contactNumber, screeningOverride, ...input }, auth, ctx) {
        requireOverrideRole(auth, screeningOverride);
        const party = await requireParty(auth.orgId, partyId);
        const docs = await contactsOf(auth.orgId, party, auth.userId);
        const fields = fieldsOf(input, party, ctx);
        const stamp = { by: auth.userId, at: new Date() };
        const save = () => change(auth.orgId, partyId, contactNumber, (current) => updateContact(current, fields, stamp));
        const before = docs.find((d) => d.number === contactNumber);
        // A new name is screened again before it is saved.
        const renamed = input.name !== undefined && before && !isDeleted(before) && before.name !== input.name;
        const doc = renamed
          ? await deps.screening.guard(
              {
                orgId: auth.orgId,
                subject: { kind: 'clientContact', id: before._id, partyId },
                input: contactScreeningInput(input.name!),
                auth,
                override: screeningOverride,
              },
              save,
            )
          : await save();
        return toContactView(doc as ClientContactDoc, today(orgOf(ctx).timeZone));
      },
    }),

    deleteClientContact: defineAction({
      input: deleteClientContactInput,
      roles: DELETERS,
      async handler({ partyId, contactNumber, reason }, auth, ctx) {
        const party = await requireParty(auth.orgId, partyId);
        const docs = await contactsOf(auth.orgId, party, auth.userId);
        const day = today(orgOf(ctx).timeZone);
        const stamp = { by: auth.userId, at: new Date() };
        // Decided on the client's contacts as read; two admins deleting the last two holders of a role at
        // the same instant could both pass (no transactions): the window is one request wide.
        await change(auth.orgId, partyId, contactNumber, (current) => {
          const problem = deletionProblem(
            current,
            docs.map((d) => (d.number === current.number ? current : d)),
            day,
          );
          if (problem) throw contactError(problem);
          return tombstoneOf(current, stamp, reason ?? null);
        });
        return null;
      },
    }),

    clientContactConsents: defineAction({
      input: clientContactRefInput,
      roles: STAFF,
      async handler({ partyId, contactNumber }, auth) {
        const doc = await contact(auth, partyId, contactNumber);
        return { consents: { ...doc.consents }, items: [...doc.consentLedger].reverse().map(toLedgerEntryView) };
      },
    }),

    changeClientContactConsent: defineAction({
      input: changeConsentInput,
      roles: WRITERS,
      async handler({ partyId, contactNumber, collectedAt, ...command }, auth, ctx) {
        const party = await requireParty(auth.orgId, partyId);
        await contactsOf(auth.orgId, party, auth.userId);
        const stamp = { id: createdId(ctx, auth.orgId), by: auth.userId, at: new Date() };
        let entry: ReturnType<typeof toLedgerEntryView> | null = null;
        const doc = await change(auth.orgId, partyId, contactNumber, (current) => {
          // A retry of a change whose answer was lost (same Idempotency-Key) finds its entry there.
          const earlier = current.consentLedger.find((e) => e.id === stamp.id);
          if (earlier) {
            entry = toLedgerEntryView(earlier);
            return null;
          }
          const applied = accepted(applyConsent(current, { ...command, ...(collectedAt ? { collectedAt: new Date(collectedAt) } : {}) }, stamp));
          entry = applied.entry ? toLedgerEntryView(applied.entry) : null;
          return applied.doc;
        });
        return { contact: toContactView(doc as ClientContactDoc, today(orgOf(ctx).timeZone)), entry };
      },
    }),

    clientContactRevisions: defineAction({
      input: clientContactRefInput,
      roles: STAFF,
      async handler({ partyId, contactNumber }, auth) {
        return revisionsView(await contact(auth, partyId, contactNumber));
      },
    }),

    clientContactDeletions: defineAction({
      input: z.strictObject({ partyId: partyIdSchema }),
      roles: AUDITORS,
      async handler({ partyId }, auth) {
        await requireParty(auth.orgId, partyId);
        return deletionsView(await deps.clientContacts.ofParty(auth.orgId, partyId));
      },
    }),

    clientRecipients: defineAction({
      input: recipientsInput,
      roles: STAFF,
      async handler({ partyId, role, date }, auth, ctx) {
        return recipients(auth.orgId, partyId, role, date ?? today(orgOf(ctx).timeZone), auth.userId);
      },
    }),

    /**
     * The same answer for the platform itself (automatic sending of due notices, reminders,
     * settlements), which names the org: no user is behind such a call, so it is a system action.
     */
    recipientsFor: defineSystemAction({
      input: recipientsForInput,
      async handler({ orgId, partyId, role, date, timeZone }, ctx) {
        return recipients(orgId, partyId, role, date ?? today(timeZone ?? orgOf(ctx).timeZone), 'system');
      },
    }),
  };
}
