import { randomUUID } from 'node:crypto';
import { AppError, conflict, parseMobile, todayIn, validationError, type OrgContext } from '@relais/shared';
import type { z } from 'zod';
import type { setSmsConsentInput } from './api';
import { ConcurrentChangeError, type Decision, type Domiciliations } from './data/domiciliations';
import {
  activeStatus,
  domiciliationChange,
  newDomiciliation,
  noDomiciliation,
  stateOf,
  transition,
  type Command,
  type DomiciliationDoc,
} from './domain/domiciliation';
import { smsConsentChange, type ConsentChoice } from './domain/smsConsent';
import { CONSENT_FIELDS, toDomiciliation, toHistory, toSmsConsent } from './domain/views';

/** Who acts, and their org's calendar and phone region (from the call). */
export interface Caller extends OrgContext {
  orgId: string;
  userId: string;
}

/**
 * A person's domiciliation as staff request, decide and read it, and the SMS consent recorded on
 * it. Every write goes through the repository's version-checked write, which publishes its events.
 */
export class DomiciliationUseCases {
  constructor(private readonly repo: Domiciliations) {}

  /** `ensurePerson`: the person must exist in the caller's org, contacts answers 404 otherwise. */
  async request(personId: string, who: Caller, ensurePerson: () => Promise<unknown>) {
    await ensurePerson();
    return this.run(personId, { action: 'request' }, who);
  }

  /** Runs a command of the state machine on the person's domiciliation; a request creates it. */
  run(personId: string, command: Command, who: Caller) {
    const actor = { orgId: who.orgId, userId: who.userId, timeZone: who.timeZone };
    return this.write(who.orgId, personId, (doc, at) => {
      const t = transition(doc && stateOf(doc), command);
      if (!doc) return { create: newDomiciliation(personId, t, { domiciliationId: randomUUID(), eventId: randomUUID() }, actor, at) };
      return { change: domiciliationChange(doc, t, randomUUID(), actor, at) };
    }).then(toDomiciliation);
  }

  /** Without a date, the domiciliation ends today in the org's calendar. */
  end(personId: string, endDate: string | undefined, who: Caller) {
    return this.run(personId, { action: 'end', endDate: endDate ?? todayIn(who.timeZone, new Date()) }, who);
  }

  async get(orgId: string, personId: string) {
    return toDomiciliation(await this.existing(orgId, personId));
  }

  async history(orgId: string, personId: string) {
    return toHistory(await this.existing(orgId, personId), (f) => !CONSENT_FIELDS.includes(f));
  }

  /** For other services: is this person domiciled today? */
  async activeStatus(orgId: string, personId: string, zone: string) {
    const doc = await this.repo.forPerson(orgId, personId);
    return activeStatus(personId, doc, todayIn(zone, new Date()));
  }

  async activeStatuses(orgId: string, personIds: string[], zone: string) {
    const docs = new Map((await this.repo.forPeople(orgId, personIds)).map((d) => [d.personId, d]));
    const today = todayIn(zone, new Date());
    return { statuses: personIds.map((id) => activeStatus(id, docs.get(id) ?? null, today)) };
  }

  async smsConsent(orgId: string, personId: string) {
    return toSmsConsent(await this.existing(orgId, personId));
  }

  /** Consent needs a mobile number, read in the org's region; withdrawing it forgets the number. */
  async setSmsConsent(input: z.output<typeof setSmsConsentInput>, who: Caller) {
    let choice: ConsentChoice = { consent: false };
    if (input.consent) {
      const parsed = parseMobile(input.phone!, who.region);
      if (!parsed.ok) throw validationError(`Invalid input: phone: ${parsed.reason}`, [{ path: 'phone', message: parsed.reason }]);
      choice = { consent: true, phone: parsed.phone };
    }
    const actor = { orgId: who.orgId, userId: who.userId };
    const saved = await this.write(who.orgId, input.personId, (doc, at) => {
      if (!doc) throw new AppError('This person has no domiciliation: request one before setting SMS consent.', 404, 'NOT_FOUND');
      return { change: smsConsentChange(doc, choice, randomUUID(), actor, at) };
    });
    return toSmsConsent(saved);
  }

  async smsConsentHistory(orgId: string, personId: string) {
    return toHistory(await this.existing(orgId, personId), (f) => CONSENT_FIELDS.includes(f));
  }

  private async existing(orgId: string, personId: string): Promise<DomiciliationDoc> {
    const doc = await this.repo.forPerson(orgId, personId);
    if (!doc) throw noDomiciliation();
    return doc;
  }

  /** The repository's write, its last lost race answered 409. */
  private async write(orgId: string, personId: string, decide: (doc: DomiciliationDoc | null, at: Date) => Decision): Promise<DomiciliationDoc> {
    try {
      return await this.repo.write(orgId, personId, decide);
    } catch (err) {
      if (err instanceof ConcurrentChangeError) throw conflict('The domiciliation was changed by someone else at the same time; reload it and try again.');
      throw err;
    }
  }
}
