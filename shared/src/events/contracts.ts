import { z } from 'zod';

/**
 * Durable event contracts: the payload (`data`) of each event type. Publishers
 * and consumers share these; a payload that does not match is never published.
 */
export const MAIL_KINDS = ['letter', 'parcel', 'deliveryNotice'] as const;
export const mailKind = z.enum(MAIL_KINDS);
export type MailKind = z.infer<typeof mailKind>;

export const DOMICILIATION_STATUSES = ['requested', 'active', 'refused', 'ended'] as const;
export const domiciliationStatus = z.enum(DOMICILIATION_STATUSES);
export type DomiciliationStatus = z.infer<typeof domiciliationStatus>;

/** A calendar date without time (YYYY-MM-DD), read in the org's time zone. */
export const isoDate = z.iso.date();

export const eventContracts = {
  'domiciliation.changed': z.object({
    domiciliationId: z.string(),
    personId: z.string(),
    status: domiciliationStatus,
    startDate: isoDate.nullable(),
    endDate: isoDate.nullable(),
    changedAt: z.iso.datetime(),
    changedBy: z.string(),
    /**
     * The org's IANA time zone, as the call that made the change had it: consumers plan dates in it
     * (notifications' reminders, until the org saves its settings). Absent from older events.
     */
    timeZone: z.string().optional(),
  }),
  'domiciliation.smsConsentChanged': z.object({
    personId: z.string(),
    consent: z.boolean(),
    /** The mobile number in E.164 while consent is given, else null. */
    phoneE164: z.string().nullable(),
    region: z.string().nullable(),
    changedAt: z.iso.datetime(),
    changedBy: z.string(),
  }),
  'mail.registered': z.object({
    mailItemId: z.string(),
    personId: z.string(),
    kind: mailKind,
    quantity: z.number().int().positive(),
    registeredAt: z.iso.datetime(),
    registeredBy: z.string(),
  }),
  'mail.handedOver': z.object({
    personId: z.string(),
    mailItemIds: z.array(z.string()).min(1),
    handedOverAt: z.iso.datetime(),
    handedOverBy: z.string(),
  }),
  /**
   * A party's primary channel (the star of seed 000) changed: set, removed, invalidated, or its
   * value or type changed. `primary` is null when the party has no phone or e-mail left to be one.
   * `partyId` is the person's or company's id (a person's party id is their personId elsewhere).
   */
  'contact.primaryChanged': z.object({
    partyId: z.string(),
    partyKind: z.enum(['person', 'company']),
    previousChannelId: z.string().nullable(),
    primary: z
      .object({
        channelId: z.string(),
        kind: z.enum(['phone', 'email']),
        type: z.enum(['mobile', 'private', 'professional']),
        /** The number in E.164, or the e-mail address (its domain lower-cased). */
        value: z.string(),
      })
      .nullable(),
    changedAt: z.iso.datetime(),
    changedBy: z.string(),
  }),
  /**
   * An exchange was recorded on an intervention request (exchanges): staff recorded or e-mailed it,
   * the client posted it on the portal, or an e-mail came in. For the notifications service (a
   * portal post tells the request's collaborator and team) and the contacts service (an e-mail
   * that came from an address is evidence that the address works).
   */
  'exchange.recorded': z.object({
    exchangeId: z.string(),
    requestId: z.string(),
    /** DIT-00042. */
    requestNumber: z.string(),
    clientId: z.string(),
    title: z.string(),
    direction: z.enum(['received', 'sent']),
    type: z.string(),
    origin: z.enum(['staff', 'portal', 'email']),
    visibility: z.enum(['internal', 'client']),
    /** The address a sent e-mail goes to, or a received one came from. */
    email: z.string().nullable(),
    subject: z.string().nullable(),
    preview: z.string(),
    /** The request's collaborator and team when it was recorded. */
    assignedTo: z.string().nullable(),
    team: z.string().nullable(),
    /** The user or portal account that recorded it (never told of its own post). */
    createdBy: z.string(),
    occurredAt: z.iso.datetime(),
  }),
  /**
   * A delivery reached its final status at the provider (notifications): what the contacts service
   * takes as evidence about the channel it went to. `ref` is the requester's reference (a contact
   * action's id), null for notifications Relais sends on its own.
   */
  'delivery.outcome': z.object({
    deliveryId: z.string(),
    /** The party (person) it was sent to. */
    personId: z.string(),
    medium: z.enum(['sms', 'email']),
    /** The number in E.164, or the e-mail address. */
    to: z.string(),
    type: z.string(),
    ref: z.string().nullable(),
    status: z.enum(['delivered', 'failed']),
    /** Why it failed: `notAMobile` when the operator says the number cannot take SMS; `permanent` when a retry would fail the same. */
    error: z.object({ code: z.string().nullable(), kind: z.enum(['notAMobile', 'hardBounce', 'softBounce', 'other']), permanent: z.boolean() }).nullable(),
    occurredAt: z.iso.datetime(),
  }),
} as const;

export type EventType = keyof typeof eventContracts;
export type EventData<T extends EventType> = z.infer<(typeof eventContracts)[T]>;

/** What travels on JetStream: a stable id (also the Nats-Msg-Id), the org, the fact. */
export interface Envelope<T extends EventType = EventType> {
  id: string;
  type: T;
  orgId: string;
  occurredAt: string;
  data: EventData<T>;
}
