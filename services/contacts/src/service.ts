import type { ServiceSchema } from 'moleculer';
import {
  STAFF,
  conflict,
  createdId,
  defineAction,
  healthAction,
  isDuplicateKey,
  notFound,
  openRuntime,
  orgOf,
  validationError,
  type BaseConfig,
  type Logger,
  type RelaisContext,
  type ServiceRuntime,
} from '@relais/shared';
import { createPersonInput, getPersonInput, searchPeopleInput, updatePersonInput } from './api';
import { ConcurrentChangeError, People } from './data/parties';
import { applyChanges, birthDateProblem, newPerson, page, peopleQuery, toPerson, todayIn, type PersonDoc } from './domain/people';

export const SERVICE = 'contacts';

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

/** The contacts service: the files of the people (and later companies) each org keeps. */
export function contactsService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let people: People;

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      // Reception agents open files too, so every staff role may create and update.
      createPerson: defineAction({
        input: createPersonInput,
        roles: STAFF,
        async handler(input, auth, ctx) {
          const now = new Date();
          checkBirthDate(ctx, input.birthDate, now);
          const doc = newPerson(input, auth, createdId(ctx, auth.orgId), now);
          try {
            await people.insert(doc);
          } catch (err) {
            if (!isDuplicateKey(err)) throw err;
            // A retry of a creation whose answer was lost: the first one's person is the outcome.
            const first = await people.byId(auth.orgId, doc._id);
            if (first) return toPerson(first);
            throw customIdTaken(input.customId);
          }
          return toPerson(doc);
        },
      }),

      // Other services call this to check that a person exists in the caller's org.
      getPerson: defineAction({
        input: getPersonInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          const doc = await people.byId(auth.orgId, personId);
          if (!doc) throw notFound('Person');
          return toPerson(doc);
        },
      }),

      updatePerson: defineAction({
        input: updatePersonInput,
        roles: STAFF,
        async handler({ personId, ...changes }, auth, ctx) {
          const now = new Date();
          checkBirthDate(ctx, changes.birthDate, now);
          let doc: PersonDoc | null;
          try {
            doc = await people.update(auth.orgId, personId, (current) => applyChanges(current, changes, auth, now));
          } catch (err) {
            if (isDuplicateKey(err)) throw customIdTaken(changes.customId);
            if (err instanceof ConcurrentChangeError) {
              throw conflict('This file was being changed by someone else at the same time; reload it and try again.');
            }
            throw err;
          }
          if (!doc) throw notFound('Person');
          return toPerson(doc);
        },
      }),

      searchPeople: defineAction({
        input: searchPeopleInput,
        roles: STAFF,
        async handler(input, auth) {
          const query = peopleQuery(input);
          return page(await people.search(auth.orgId, query), query.limit);
        },
      }),
    },

    async started() {
      rt = await openRuntime(config, SERVICE, this.logger as unknown as Logger);
      people = People.open(rt.db);
      await people.init();
    },

    async stopped() {
      await rt?.close();
      rt = null;
    },
  };
}
