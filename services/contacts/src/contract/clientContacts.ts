import { z } from 'zod';
import { STAFF, type Role, type Route } from '@relais/shared';
import { WRITERS, addChannelInput, partyId } from './channels';
import { text } from './fields';
import { screeningCheckView, screeningOverride } from './screening';
import { PHONE_TYPES } from './vocabulary';

// ---------------------------------------------------------------------------------------------
// Client contacts (seed 003, "contacts client" / référents): the people to write to at a client

/** Who a contact receives the client's correspondence for ("Destinataire pour l'envoi des ..."). */
export const ROUTING_ROLES = ['dueNotices', 'unpaidReminders', 'documentReminders', 'claimSettlements'] as const;
export type RoutingRole = (typeof ROUTING_ROLES)[number];

/** What a contact agreed to, each change kept in its consent ledger. */
export const CONSENTS = ['electronicSignature', 'commercialEmails', 'partnerEmails'] as const;
export type ConsentName = (typeof CONSENTS)[number];

/** How a consent (or its withdrawal) was collected. */
export const CONSENT_METHODS = ['paper', 'phone', 'portal', 'email'] as const;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];

/** Deleting a contact for good is an admin's decision. */
export const DELETERS: readonly Role[] = ['admin'];
/** The audit of deletions: admins and managers. */
export const AUDITORS: readonly Role[] = ['admin', 'manager'];

export const CONTACT_MAX_PHONES = 5;

/** A contact's identifier on its client: 1, 2, 3... (in a path it is text, hence the coercion). */
export const contactNumber = z.coerce
  .number({ error: 'must be a contact number: 1, 2, 3...' })
  .int('must be a contact number: 1, 2, 3...')
  .min(1, 'must be a contact number: 1, 2, 3...')
  .max(999_999, 'must be at most 999999')
  .describe("The contact's number on this client, assigned at creation and never reused");

const calendarDate = z.iso.date({ message: 'must be a date (YYYY-MM-DD)' });

const name = text(200)
  .describe('Nom: the name of the contact')
  .meta({ examples: ['Jeanne Payet'] });
const fn = text(100)
  .describe('Fonction: what the contact is at the client (comptable, DAF, conjoint...)')
  .meta({ examples: ['Comptable'] });
const displayOrder = z
  .number()
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(9999, 'must be at most 9999')
  .describe("Ordre d'affichage: 1 comes first; contacts of the same order come by number. Last by default");
const email = z.string().max(320, 'must be at most 320 characters').describe('E-mail address, used for messages sent by e-mail');
const phones = z
  .array(
    z.strictObject({
      type: z.enum(PHONE_TYPES, { error: 'must be mobile, private or professional' }),
      number: z.string().max(40, 'must be at most 40 characters').describe('The number as typed, national or international'),
    }),
  )
  .max(CONTACT_MAX_PHONES, `must hold at most ${CONTACT_MAX_PHONES} phones`)
  .describe('Phones, read as contact channels are (a mobile must be a mobile number)');
/** The lines of a postal address, as for a postal channel. */
const address = addChannelInput.shape.address.unwrap().describe('Postal address lines');
const copyClientAddress = z
  .boolean({ error: 'must be true or false' })
  .describe('"Copie Adr Client": take the client\'s postal address as it is now (its default one, else its best qualified), instead of `address`');
const routingRoles = z
  .array(z.enum(ROUTING_ROLES, { error: `must be one of ${ROUTING_ROLES.join(', ')}` }))
  .max(ROUTING_ROLES.length)
  .refine((roles) => new Set(roles).size === roles.length, 'lists a role twice')
  .describe('What this contact receives: due notices, unpaid reminders, document reminders, claim settlements');
const endDate = calendarDate.describe("Date de fin d'activité: the last day the contact is valid (YYYY-MM-DD)");

export const createClientContactInput = z
  .strictObject({
    partyId,
    name,
    function: fn,
    displayOrder: displayOrder.optional(),
    email: email.optional(),
    phones: phones.optional(),
    address: address.optional(),
    copyClientAddress: copyClientAddress.optional(),
    routingRoles: routingRoles.optional(),
    endDate: endDate.optional(),
    screeningOverride: screeningOverride.optional(),
  })
  .meta({
    examples: [
      {
        name: 'Jeanne Payet',
        function: 'Comptable',
        email: 'compta@payet.re',
        phones: [{ type: 'professional', number: '0262 12 34 56' }],
        routingRoles: ['dueNotices'],
      },
    ],
  });
export type CreateClientContactInput = z.infer<typeof createClientContactInput>;

export const updateClientContactInput = z
  .strictObject({
    partyId,
    contactNumber,
    name: name.optional(),
    function: fn.optional(),
    displayOrder: displayOrder.optional(),
    email: email.nullable().optional().describe('null removes it'),
    phones: phones.optional().describe('The whole new list; [] removes them all'),
    address: address.nullable().optional().describe('null removes it'),
    copyClientAddress: z.literal(true, { error: 'can only be true' }).optional().describe("Take the client's postal address as it is now"),
    routingRoles: routingRoles.optional().describe('The whole new list; [] removes them all'),
    endDate: endDate.nullable().optional().describe('Ends the contact after that day; null makes it valid again'),
    screeningOverride: screeningOverride.optional(),
  })
  .meta({ examples: [{ function: 'Directrice financière', routingRoles: ['dueNotices', 'unpaidReminders'], endDate: '2026-12-31' }] });
export type UpdateClientContactInput = z.infer<typeof updateClientContactInput>;

export const listClientContactsInput = z.strictObject({
  partyId,
  validAsOf: calendarDate
    .optional()
    .describe("« Valides au »: the day the list is valid on, and the day `active` refers to; today in the org's time zone by default"),
  all: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true')
    .describe('true: every contact, ended ones included (the box unticked), each marked active or not on validAsOf'),
});
export type ListClientContactsInput = z.infer<typeof listClientContactsInput>;

export const clientContactRefInput = z.strictObject({ partyId, contactNumber });

export const deleteClientContactInput = z.strictObject({
  partyId,
  contactNumber,
  reason: z.string().max(500, 'must be at most 500 characters').optional().describe('Why it is deleted, kept with the record of the deletion'),
});

export const changeConsentInput = z
  .strictObject({
    partyId,
    contactNumber,
    consent: z.enum(CONSENTS, { error: `must be one of ${CONSENTS.join(', ')}` }),
    granted: z.boolean({ error: 'must be true (given) or false (refused or withdrawn)' }),
    method: z.enum(CONSENT_METHODS, { error: `must be one of ${CONSENT_METHODS.join(', ')}` }).describe('How it was collected'),
    wording: z
      .string()
      .trim()
      .min(1, 'cannot be empty')
      .max(2000, 'must be at most 2000 characters')
      .optional()
      .describe('The wording the contact was shown; required to record a consent given'),
    collectedAt: z.iso.datetime({ message: 'must be a date-time (ISO 8601)' }).optional().describe('When it was collected; now by default'),
    note: z.string().max(500, 'must be at most 500 characters').optional(),
  })
  .meta({
    examples: [
      { consent: 'commercialEmails', granted: true, method: 'phone', wording: "Acceptez-vous de recevoir par e-mail les offres commerciales de l'agence ?" },
    ],
  });
export type ChangeConsentInput = z.infer<typeof changeConsentInput>;

export const recipientsInput = z.strictObject({
  partyId,
  role: z.enum(ROUTING_ROLES, { error: `must be one of ${ROUTING_ROLES.join(', ')}` }),
  date: calendarDate.optional().describe("The day of the sending (YYYY-MM-DD); today in the org's time zone by default"),
});

/** The same question asked by the platform (automatic sending), for the org it names. */
export const recipientsForInput = recipientsInput.extend({
  orgId: z.string().min(1).max(100),
  timeZone: z.string().max(100).optional().describe("The org's IANA time zone, to read today when no date is given"),
});

// ---------------------------------------------------------------------------------------------
// Answers

const consentsView = z.object({ electronicSignature: z.boolean(), commercialEmails: z.boolean(), partnerEmails: z.boolean() });

const addressView = z.object({
  street: z.string(),
  complement: z.string().optional(),
  locality: z.string().optional(),
  postalCode: z.string().optional(),
  city: z.string(),
  country: z.string(),
});

export const clientContactView = z.object({
  number: z.number().int(),
  partyId: z.string(),
  name: z.string(),
  function: z.string(),
  displayOrder: z.number().int(),
  email: z.string().nullable(),
  phones: z.array(z.object({ type: z.enum(PHONE_TYPES), e164: z.string(), display: z.string(), region: z.string(), raw: z.string(), lineType: z.string() })),
  address: addressView.nullable(),
  /** The client's postal channel the address was copied from, when it was. */
  addressCopiedFrom: z.string().nullable(),
  consents: consentsView,
  routingRoles: z.array(z.enum(ROUTING_ROLES)),
  endDate: z.string().nullable(),
  /** Valid on the list's date (today for a single contact or the whole history). */
  active: z.boolean(),
  /** The client themself: the first contact of an individual client. */
  self: z.boolean(),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  updatedAt: z.iso.datetime(),
  updatedBy: z.string(),
});
export type ClientContactView = z.infer<typeof clientContactView>;

export const clientContactList = z.object({
  /** The day the list is valid on, and the day each contact's `active` refers to. */
  validAsOf: z.string(),
  /** Every contact, ended ones included. */
  all: z.boolean(),
  items: z.array(clientContactView),
});

const ledgerEntryView = z.object({
  id: z.string(),
  consent: z.enum(CONSENTS),
  granted: z.boolean(),
  method: z.enum(CONSENT_METHODS),
  wording: z.string().nullable(),
  note: z.string().optional(),
  collectedAt: z.iso.datetime(),
  recordedAt: z.iso.datetime(),
  recordedBy: z.string(),
});
export const consentLedgerView = z.object({ consents: consentsView, items: z.array(ledgerEntryView) });
export const consentChangeView = z.object({
  contact: clientContactView,
  /** The ledger entry recorded; null when the consent already had that value (nothing changed). */
  entry: ledgerEntryView.nullable(),
});

export const clientContactRevisions = z.object({
  items: z.array(
    z.object({
      revision: z.number().int(),
      at: z.iso.datetime(),
      by: z.string(),
      action: z.enum(['created', 'createdFromClient', 'updated', 'consent']),
      changes: z.array(z.object({ field: z.string(), from: z.string().nullable(), to: z.string().nullable() })),
    }),
  ),
});

export const clientContactDeletions = z.object({
  items: z.array(
    z.object({
      number: z.number().int(),
      name: z.string(),
      function: z.string(),
      deletedAt: z.iso.datetime(),
      deletedBy: z.string(),
      reason: z.string().nullable(),
    }),
  ),
});

export const recipientsView = z.object({
  partyId: z.string(),
  role: z.enum(ROUTING_ROLES),
  date: z.string(),
  items: z.array(
    z.object({
      number: z.number().int(),
      name: z.string(),
      function: z.string(),
      displayOrder: z.number().int(),
      email: z.string().nullable(),
      consents: consentsView,
    }),
  ),
});
export type RecipientsView = z.infer<typeof recipientsView>;

const contactPath = '/v1/parties/:partyId/contacts/:contactNumber';

export const clientContactRoutes: Route[] = [
  {
    method: 'get',
    path: '/v1/parties/:partyId/contacts',
    action: 'contacts.listClientContacts',
    input: listClientContactsInput,
    output: clientContactList,
    roles: STAFF,
    summary: "A client's contacts valid on a day (today by default), in display order; all=true for the whole history",
    description:
      "Ended contacts are hidden unless all=true. An individual client's first contact is the client themself, created on the first " +
      'access to the list. Every staff role may read them.',
    tag: 'Client contacts',
  },
  {
    method: 'post',
    path: '/v1/parties/:partyId/contacts',
    action: 'contacts.createClientContact',
    input: createClientContactInput,
    output: clientContactView,
    status: 201,
    roles: WRITERS,
    idempotent: true,
    summary: 'Add a contact to a client: numbered 1, 2, 3... on the client, name and function required',
    description:
      "E-mail and phones are checked as contact channels are; copyClientAddress copies the client's postal address as it is now. Consents " +
      'start refused and change only through the consents route. Caseworkers, managers and admins.',
    tag: 'Client contacts',
  },
  {
    method: 'get',
    path: contactPath,
    action: 'contacts.getClientContact',
    input: clientContactRefInput,
    output: clientContactView,
    roles: STAFF,
    summary: 'One contact of a client, by its number',
    description: 'Every staff role may read it.',
    tag: 'Client contacts',
  },
  {
    method: 'post',
    path: `${contactPath}/screening`,
    action: 'contacts.screenClientContact',
    input: clientContactRefInput,
    output: screeningCheckView,
    status: 201,
    roles: STAFF,
    idempotent: true,
    summary: 'Screen the contact against the asset-freeze register now (the "contrôle du registre des avoirs" button)',
    description:
      "Screens the contact's name against the current publication of the national register of asset freezes, logs the check " +
      "(listed with the client's, at GET /v1/parties/{partyId}/screening) and answers it: clear, potential (candidates with their " +
      'scores) or notScreened (no publication imported yet). Creates a check in the log, hence 201. Every staff role.',
    tag: 'Client contacts',
  },
  {
    method: 'patch',
    path: contactPath,
    action: 'contacts.updateClientContact',
    input: updateClientContactInput,
    output: clientContactView,
    roles: WRITERS,
    summary: 'Change a contact, or end it with an end date (fields left out are kept; every change is kept in its revisions)',
    description: 'endDate ends the contact after that day (null makes it valid again). Caseworkers, managers and admins.',
    tag: 'Client contacts',
  },
  {
    method: 'delete',
    path: contactPath,
    action: 'contacts.deleteClientContact',
    input: deleteClientContactInput,
    status: 204,
    roles: DELETERS,
    summary: 'Delete a contact for good (its number is never given again; who deleted it, when, its number and name are kept)',
    description:
      'Admins only (403 otherwise). Refused (409, naming the role) while the contact holds a routing role that no other contact of the ' +
      'client valid today holds; to keep it in the history, end it instead.',
    tag: 'Client contacts',
  },
  {
    method: 'get',
    path: `${contactPath}/consents`,
    action: 'contacts.clientContactConsents',
    input: clientContactRefInput,
    output: consentLedgerView,
    roles: STAFF,
    summary: "A contact's consents and their ledger, newest first: who recorded each, when, how it was collected, the wording shown",
    description: 'Every staff role may read it.',
    tag: 'Client contacts',
  },
  {
    method: 'post',
    path: `${contactPath}/consents`,
    action: 'contacts.changeClientContactConsent',
    input: changeConsentInput,
    output: consentChangeView,
    roles: WRITERS,
    summary: 'Record a consent given, refused or withdrawn (electronic signature, commercial e-mails, partner e-mails)',
    description:
      'A consent given needs the wording shown; a value the consent already has records nothing (entry: null). Commercial and partner ' +
      'e-mails are refused until a consent is recorded (CPCE L.34-5). Caseworkers, managers and admins.',
    tag: 'Client contacts',
  },
  {
    method: 'get',
    path: `${contactPath}/revisions`,
    action: 'contacts.clientContactRevisions',
    input: clientContactRefInput,
    output: clientContactRevisions,
    roles: STAFF,
    summary: "Every change of a contact, newest first: who, when, each field's value before and after",
    description: 'Every staff role may read it.',
    tag: 'Client contacts',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/contact-deletions',
    action: 'contacts.clientContactDeletions',
    input: z.strictObject({ partyId }),
    output: clientContactDeletions,
    roles: AUDITORS,
    summary: 'The contacts deleted from a client: their number and name, who deleted them and when',
    description: 'Admins and managers.',
    tag: 'Client contacts',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/recipients',
    action: 'contacts.clientRecipients',
    input: recipientsInput,
    output: recipientsView,
    roles: STAFF,
    summary: 'Who receives due notices, unpaid reminders, document reminders or claim settlements for a client on a day',
    description:
      "The contacts holding the role and valid on `date` (today in the org's time zone by default), in display order, with their e-mail " +
      'and consents. Every staff role may read it.',
    tag: 'Client contacts',
  },
];
