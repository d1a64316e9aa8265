import { z } from 'zod';
import { STAFF, domiciliationStatus, type Role, type Route } from '@relais/shared';

/** Request and response shapes of the domiciliation service: action params, HTTP routes and OpenAPI all come from here. */

/** Seed 001: the SMS consent is changed by admins, managers and caseworkers only; domiciliation decisions likewise. */
export const DECIDERS: readonly Role[] = ['admin', 'manager', 'caseworker'];

export const personId = z.uuid({ message: 'must be a person id (UUID)' });
const date = z.iso.date({ message: 'must be a date (YYYY-MM-DD)' });

export const personInput = z.strictObject({ personId });

/** Several people at once: the mail service checks all the people of concurrent registrations in one call. */
export const peopleInput = z.strictObject({ personIds: z.array(personId).min(1).max(500) });

// Examples (API document only): a one-year period, the end after the start as the service requires.
const startDate = date.meta({ examples: ['2026-01-05'] });
const endDate = date.meta({ examples: ['2027-01-04'] });

export const activateInput = z.strictObject({ personId, startDate, endDate });

export const refuseInput = z.strictObject({
  personId,
  reason: z
    .string()
    .trim()
    .min(1)
    .max(1000)
    .optional()
    .meta({ examples: ['Aucun lien avec la commune'] }),
});

export const renewInput = z.strictObject({
  personId,
  /** The day after the previous period's end when omitted. */
  startDate: startDate.optional(),
  endDate,
});

export const changeEndDateInput = z.strictObject({ personId, endDate });

export const endInput = z.strictObject({
  personId,
  /** Today in the org's time zone when omitted. */
  endDate: endDate.optional(),
});

export const setSmsConsentInput = z
  .strictObject({
    personId,
    consent: z.boolean(),
    /** The mobile number as typed (national or international form); required with consent. */
    phone: z
      .string()
      .max(40)
      .optional()
      .meta({ examples: ['06 12 34 56 78'] }),
  })
  .refine((v) => !v.consent || v.phone !== undefined, { message: 'is required when SMS consent is given', path: ['phone'] })
  .refine((v) => v.consent || v.phone === undefined, { message: 'only applies when SMS consent is given', path: ['phone'] });
export type SetSmsConsentInput = z.infer<typeof setSmsConsentInput>;

const period = z.object({ startDate: z.string(), endDate: z.string() });
const historyValue = z.union([z.string(), z.boolean(), z.null()]);

export const smsConsent = z.object({
  consent: z.boolean(),
  /** The mobile number in E.164 while consent is given. */
  phoneE164: z.string().nullable(),
  /** The number as it was typed. */
  phoneRaw: z.string().nullable(),
  /** Region the number belongs to (FR, RE, YT...). */
  region: z.string().nullable(),
  changedAt: z.iso.datetime().nullable(),
  changedBy: z.string().nullable(),
});

export const domiciliation = z.object({
  id: z.string(),
  personId: z.string(),
  status: domiciliationStatus,
  /** The current (last) period's dates. */
  startDate: z.string().nullable(),
  endDate: z.string().nullable(),
  periods: z.array(period),
  refusalReason: z.string().nullable(),
  smsConsent,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Domiciliation = z.infer<typeof domiciliation>;

export const historyEntry = z.object({
  at: z.iso.datetime(),
  by: z.string(),
  action: z.enum(['request', 'activate', 'refuse', 'renew', 'changeEndDate', 'end', 'setSmsConsent']),
  field: z.enum(['status', 'startDate', 'endDate', 'refusalReason', 'smsConsent', 'smsPhone']),
  from: historyValue,
  to: historyValue,
});

export const history = z.object({ personId: z.string(), entries: z.array(historyEntry) });

export const personSmsConsent = smsConsent.extend({ personId: z.string() });

export const activeStatus = z.object({
  personId: z.string(),
  /** Status active and today (org's time zone) inside a period. */
  active: z.boolean(),
  status: domiciliationStatus.nullable(),
  startDate: z.string().nullable(),
  endDate: z.string().nullable(),
});

const base = '/v1/people/:personId/domiciliation';
const tag = 'Domiciliation';

export const routes: Route[] = [
  {
    method: 'post',
    path: base,
    action: 'domiciliation.request',
    input: personInput,
    output: domiciliation,
    status: 201,
    roles: STAFF,
    summary: 'Request the domiciliation of a person (or request it again after a refusal)',
    tag,
  },
  {
    method: 'post',
    path: `${base}/activate`,
    action: 'domiciliation.activate',
    input: activateInput,
    output: domiciliation,
    roles: DECIDERS,
    summary: 'Activate a requested domiciliation for its first period',
    tag,
  },
  {
    method: 'post',
    path: `${base}/refuse`,
    action: 'domiciliation.refuse',
    input: refuseInput,
    output: domiciliation,
    roles: DECIDERS,
    summary: 'Refuse a requested domiciliation',
    tag,
  },
  {
    method: 'post',
    path: `${base}/renew`,
    action: 'domiciliation.renew',
    input: renewInput,
    output: domiciliation,
    roles: DECIDERS,
    summary: 'Renew an active or ended domiciliation with a new period (earlier periods are kept)',
    tag,
  },
  {
    method: 'post',
    path: `${base}/end`,
    action: 'domiciliation.end',
    input: endInput,
    output: domiciliation,
    roles: DECIDERS,
    summary: "End an active domiciliation (today in the org's time zone by default)",
    tag,
  },
  {
    method: 'patch',
    path: base,
    action: 'domiciliation.changeEndDate',
    input: changeEndDateInput,
    output: domiciliation,
    roles: DECIDERS,
    summary: 'Change the end date of the current period of an active domiciliation',
    tag,
  },
  {
    method: 'get',
    path: base,
    action: 'domiciliation.get',
    input: personInput,
    output: domiciliation,
    roles: STAFF,
    summary: "A person's domiciliation: status, periods and SMS consent",
    tag,
  },
  {
    method: 'get',
    path: `${base}/history`,
    action: 'domiciliation.history',
    input: personInput,
    output: history,
    roles: STAFF,
    summary: "Every change of a person's domiciliation: who, when, field, old and new value",
    tag,
  },
  {
    method: 'get',
    path: '/v1/people/:personId/sms-consent',
    action: 'domiciliation.smsConsent',
    input: personInput,
    output: personSmsConsent,
    roles: STAFF,
    summary: 'Whether a person accepts SMS notifications, and the mobile number',
    tag,
  },
  {
    method: 'put',
    path: '/v1/people/:personId/sms-consent',
    action: 'domiciliation.setSmsConsent',
    input: setSmsConsentInput,
    output: personSmsConsent,
    roles: DECIDERS,
    summary: 'Give (with a mobile number) or withdraw SMS consent, for the mail digest and the end-of-domiciliation reminder',
    tag,
  },
  {
    method: 'get',
    path: '/v1/people/:personId/sms-consent/history',
    action: 'domiciliation.smsConsentHistory',
    input: personInput,
    output: history,
    roles: STAFF,
    summary: 'Every change of SMS consent or mobile number: who, when, old and new value',
    tag,
  },
];
