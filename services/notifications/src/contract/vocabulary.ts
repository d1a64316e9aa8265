/**
 * The vocabulary of the notifications API: the values its fields take. The contract owns them
 * (api.ts builds its schemas from them, and the gateway loads them without any domain code); the
 * domain builds on them. Plain data: no imports.
 */

/** The SMS kinds Relais sends (seed 001's history table); their default French texts are in settings/templates.ts. */
export const SMS_KINDS = ['mail.letter', 'mail.parcel', 'mail.deliveryNotice', 'domiciliation.reminder'] as const;
export type SmsKind = (typeof SMS_KINDS)[number];

/**
 * Which default texts an org sends: 'standard', seed 001's ("Vous avez reçu": the ç makes each
 * mail SMS UCS-2, 70 characters a segment), or 'gsm7', the same news in correct French without
 * characters outside GSM-7 (160 a segment). Custom templates are sent as written either way.
 */
export const DEFAULT_WORDINGS = ['standard', 'gsm7'] as const;
export type DefaultWording = (typeof DEFAULT_WORDINGS)[number];

/**
 * What a delivery is: an SMS Relais builds from a template (SMS_KINDS), a contact SMS or e-mail,
 * whose text a staff member wrote on a file (no template, not in the settings' lists of templates),
 * or an e-mail telling a collaborator that a client wrote on a request (`staff.email`).
 */
export const DELIVERY_KINDS = [...SMS_KINDS, 'contact.sms', 'contact.email', 'staff.email'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

/** How a delivery travels, and so which provider takes it. */
export const DELIVERY_CHANNELS = ['sms', 'email'] as const;
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];

/**
 * A delivery's status only moves forward: pending -> sending -> queued -> sent -> a final
 * status. Cancelled and skipped are final without a provider call. A retry after a transient
 * error keeps the status 'sending' and sets `retryAt`.
 */
export const DELIVERY_STATUSES = ['pending', 'sending', 'queued', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
