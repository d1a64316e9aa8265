import type { ActionSchema } from 'moleculer';
import {
  STAFF,
  conflict,
  createdId,
  defineAction,
  isDuplicateKey,
  notFound,
  orgOf,
  todayIn,
  validationError,
  type AuthContext,
  type RelaisContext,
} from '@relais/shared';
import {
  WRITERS,
  addDebtorInput,
  assignInput,
  createCompanyInput,
  createPersonInput,
  debtorRefInput,
  getCompanyInput,
  getPartyInput,
  getPersonInput,
  searchPartiesInput,
  searchPeopleInput,
  updateCompanyInput,
  updatePersonInput,
  type ScreeningOverride,
} from '../api';
import { ConcurrentChangeError } from '../data/parties';
import { applyCompanyChanges, newCompany, toCompany } from '../domain/companies';
import { assign, linkDebtor, partiesQuery, toPartySummary, unlinkDebtor, type FileOutcome } from '../domain/parties';
import { applyChanges, birthDateProblem, newPerson, page, peopleQuery, toPerson } from '../domain/people';
import { partyScreeningInput, sameScreeningInput, subjectOfParty } from '../domain/screeningChecks';
import { fileView, type PartyDoc } from '../files';
import { requireOverrideRole } from '../screening';
import type { ContactsDeps } from './deps';

/** The fields of a person that are screened against the asset-freeze register: changing one screens again. */
const PERSON_SCREENED = ['lastName', 'firstName', 'usageName', 'birthDate'] as const;

/** Refuses a birth date before 1900 or after today in the org's time zone. */
function checkBirthDate(ctx: RelaisContext, birthDate: string | null | undefined, now: Date): void {
  if (birthDate == null) return;
  const problem = birthDateProblem(birthDate, todayIn(orgOf(ctx).timeZone, now));
  if (problem) throw validationError(`Invalid input: birthDate: ${problem}`, [{ path: 'birthDate', message: problem }]);
}

/** The 409 of a customId already used by another party of the org. */
function customIdTaken(customId: string | null | undefined) {
  return conflict(`The identifier "${customId}" is already used by another file of this organisation.`);
}

/** The domain's accepted outcome, or its refusal as the shared error. */
function done<T>(outcome: FileOutcome<T>): T {
  if (outcome.ok) return outcome;
  const { code, message } = outcome.problem;
  if (code === 'not-found') throw Object.assign(notFound('Debtor'), { message });
  if (code === 'conflict') throw conflict(message);
  throw validationError(message, []);
}

/** A user of the org who can be given files, asked of the gateway that owns accounts; else a 422. */
async function requireCollaborator(ctx: RelaisContext, userId: string): Promise<void> {
  const user = (await ctx.call('accounts.getUser', { userId }, { meta: ctx.meta }).catch((err: { code?: number }) => {
    if (err?.code === 404) return null;
    throw err;
  })) as { disabled?: boolean } | null;
  if (!user)
    throw validationError(`Invalid input: userId: no user ${userId} in this organisation`, [{ path: 'userId', message: 'is not a user of this organisation' }]);
  if (user.disabled) {
    throw validationError('Invalid input: userId: this user is deactivated and cannot be given files', [{ path: 'userId', message: 'is deactivated' }]);
  }
}

const assignmentView = (doc: PartyDoc) => ({
  assignedTo: doc.assignedTo ?? null,
  items: [...(doc.assignments ?? [])].reverse().map((a) => ({ assignedTo: a.assignedTo, previous: a.previous, at: a.at.toISOString(), by: a.by })),
});

/** People and companies, their search, and the file around any party: assignment and debtors. */
export function partyActions(deps: ContactsDeps): Record<string, ActionSchema> {
  /** Inserts a new party, or answers the first one's when a retry of its creation meets it. */
  async function create<D extends PartyDoc>(doc: D, customId: string | null | undefined): Promise<D> {
    try {
      await deps.parties.insert(doc);
      return doc;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const first = await deps.parties.ofKind(doc.orgId, doc.kind, doc._id);
      if (first) return first as D;
      throw customIdTaken(customId);
    }
  }

  /**
   * A creation screened against the asset-freeze register (see Screening.guard): a potential match
   * is refused unless overridden. A retry with the same Idempotency-Key of a creation already done
   * answers it without screening (nor logging) it again.
   */
  async function createScreened<D extends PartyDoc>(
    ctx: RelaisContext,
    auth: AuthContext,
    doc: D,
    customId: string | null | undefined,
    override: ScreeningOverride | undefined,
  ): Promise<D> {
    requireOverrideRole(auth, override);
    if (ctx.meta?.idempotencyKey) {
      const first = await deps.parties.ofKind(doc.orgId, doc.kind, doc._id);
      if (first) return first as D;
    }
    return deps.screening.guard({ orgId: auth.orgId, subject: subjectOfParty(doc._id), input: partyScreeningInput(doc), auth, override }, () =>
      create(doc, customId),
    );
  }

  /**
   * An update screened again when it changes what is screened (names, birth date): the change is
   * computed on the stored party first; if a concurrent write changed the screened fields in
   * between, the update is refused as a concurrent change rather than saved unscreened.
   */
  async function updateScreened<K extends PartyDoc['kind']>(
    auth: AuthContext,
    kind: K,
    id: string,
    customId: string | null | undefined,
    screenedChange: boolean,
    override: ScreeningOverride | undefined,
    change: (current: Extract<PartyDoc, { kind: K }>) => Extract<PartyDoc, { kind: K }> | null,
  ) {
    requireOverrideRole(auth, override);
    if (!screenedChange) return update(auth, kind, id, customId, change);
    const current = await deps.parties.ofKind(auth.orgId, kind, id);
    if (!current) throw notFound(kind === 'person' ? 'Person' : 'Company');
    const next = change(current);
    if (!next || sameScreeningInput(partyScreeningInput(current), partyScreeningInput(next))) return update(auth, kind, id, customId, change);
    const input = partyScreeningInput(next);
    return deps.screening.guard({ orgId: auth.orgId, subject: subjectOfParty(id), input, auth, override }, () =>
      update(auth, kind, id, customId, (fresh) => {
        const again = change(fresh);
        if (again && !sameScreeningInput(partyScreeningInput(again), input)) throw new ConcurrentChangeError(`party ${id}: screened fields changed meanwhile`);
        return again;
      }),
    );
  }

  async function update<K extends PartyDoc['kind']>(
    auth: AuthContext,
    kind: K,
    id: string,
    customId: string | null | undefined,
    change: (current: Extract<PartyDoc, { kind: K }>) => Extract<PartyDoc, { kind: K }> | null,
  ) {
    try {
      const doc = await deps.parties.update(auth.orgId, kind, id, change);
      if (!doc) throw notFound(kind === 'person' ? 'Person' : 'Company');
      return doc;
    } catch (err) {
      if (isDuplicateKey(err)) throw customIdTaken(customId);
      if (err instanceof ConcurrentChangeError) throw conflict('This file was being changed by someone else at the same time; reload it and try again.');
      throw err;
    }
  }

  return {
    // Reception agents open files too, so every staff role may create and update.
    createPerson: defineAction({
      input: createPersonInput,
      roles: STAFF,
      async handler({ screeningOverride, ...input }, auth, ctx) {
        const now = new Date();
        checkBirthDate(ctx, input.birthDate, now);
        return toPerson(await createScreened(ctx, auth, newPerson(input, auth, createdId(ctx, auth.orgId), now), input.customId, screeningOverride));
      },
    }),

    // Other services call this to check that a person exists in the caller's org.
    getPerson: defineAction({
      input: getPersonInput,
      roles: STAFF,
      async handler({ personId }, auth) {
        const doc = await deps.parties.ofKind(auth.orgId, 'person', personId);
        if (!doc) throw notFound('Person');
        return toPerson(doc);
      },
    }),

    updatePerson: defineAction({
      input: updatePersonInput,
      roles: STAFF,
      async handler({ personId, screeningOverride, ...changes }, auth, ctx) {
        const now = new Date();
        checkBirthDate(ctx, changes.birthDate, now);
        const screened = PERSON_SCREENED.some((f) => changes[f] !== undefined);
        return toPerson(
          await updateScreened(auth, 'person', personId, changes.customId, screened, screeningOverride, (current) => applyChanges(current, changes, auth, now)),
        );
      },
    }),

    searchPeople: defineAction({
      input: searchPeopleInput,
      roles: STAFF,
      async handler(input, auth) {
        const query = peopleQuery(input);
        return page(await deps.parties.searchPeople(auth.orgId, query), query.limit, toPerson);
      },
    }),

    createCompany: defineAction({
      input: createCompanyInput,
      roles: STAFF,
      async handler({ screeningOverride, ...input }, auth, ctx) {
        return toCompany(await createScreened(ctx, auth, newCompany(input, auth, createdId(ctx, auth.orgId), new Date()), input.customId, screeningOverride));
      },
    }),

    getCompany: defineAction({
      input: getCompanyInput,
      roles: STAFF,
      async handler({ companyId }, auth) {
        const doc = await deps.parties.ofKind(auth.orgId, 'company', companyId);
        if (!doc) throw notFound('Company');
        return toCompany(doc);
      },
    }),

    updateCompany: defineAction({
      input: updateCompanyInput,
      roles: STAFF,
      async handler({ companyId, screeningOverride, ...changes }, auth) {
        const now = new Date();
        return toCompany(
          await updateScreened(auth, 'company', companyId, changes.customId, changes.companyName !== undefined, screeningOverride, (current) =>
            applyCompanyChanges(current, changes, auth, now),
          ),
        );
      },
    }),

    searchParties: defineAction({
      input: searchPartiesInput,
      roles: STAFF,
      async handler(input, auth) {
        const query = partiesQuery(input, auth.userId);
        return page(await deps.parties.search(auth.orgId, query), query.limit, toPartySummary);
      },
    }),

    getFile: defineAction({
      input: getPartyInput,
      roles: STAFF,
      async handler({ partyId }, auth) {
        return fileView(await deps.files.read(auth.orgId, partyId));
      },
    }),

    assignFile: defineAction({
      input: assignInput,
      roles: WRITERS,
      async handler({ partyId, userId }, auth, ctx) {
        // An unknown file is a 404 whoever the user named.
        await deps.files.read(auth.orgId, partyId);
        if (userId !== null) await requireCollaborator(ctx, userId);
        return deps.files.changeDocs(auth, partyId, ({ doc }, stamp) => {
          const next = done(assign(doc, userId, stamp)).doc;
          return next ? { docs: [next], result: (file) => assignmentView(file.doc) } : { unchanged: assignmentView(doc) };
        });
      },
    }),

    assignmentHistory: defineAction({
      input: getPartyInput,
      roles: STAFF,
      async handler({ partyId }, auth) {
        const { root } = await deps.files.read(auth.orgId, partyId);
        return assignmentView(root);
      },
    }),

    addDebtor: defineAction({
      input: addDebtorInput,
      roles: WRITERS,
      async handler({ partyId, debtorId, role }, auth) {
        const [file, debtor] = await Promise.all([deps.parties.byId(auth.orgId, partyId), deps.parties.byId(auth.orgId, debtorId)]);
        if (!file) throw notFound('Party');
        if (!debtor)
          throw validationError(`Invalid input: debtorId: no person or company ${debtorId} in this organisation`, [
            { path: 'debtorId', message: 'is not a party of this organisation' },
          ]);
        return deps.files
          .changeDocs(auth, partyId, ({ doc }, stamp) => {
            const linked = done(linkDebtor(doc, debtor, role, stamp));
            // The debtor first: a file lists a debtor only once the debtor points back to it (see fileRootId).
            return linked.file ? { docs: [linked.debtor, linked.file], result: fileView } : { unchanged: null };
          })
          .then(async (view) => view ?? fileView(await deps.files.read(auth.orgId, partyId)));
      },
    }),

    removeDebtor: defineAction({
      input: debtorRefInput,
      roles: WRITERS,
      async handler({ partyId, debtorId }, auth) {
        const debtor = await deps.parties.byId(auth.orgId, debtorId);
        return deps.files.changeDocs(auth, partyId, ({ doc }, stamp) => {
          const unlinked = done(unlinkDebtor(doc, debtor, debtorId, stamp));
          return { docs: [unlinked.file, ...(unlinked.debtor ? [unlinked.debtor] : [])], result: fileView };
        });
      },
    }),
  };
}
