/**
 * Delivery providers behind one small interface: Twilio for SMS, SMTP (nodemailer) for
 * e-mail, and a log provider for development. The delivery service calls them only after
 * the delivery row exists (exactly-once effect is the caller's job, not the provider's).
 */

import type { DeliveryChannel } from '../../contract/vocabulary';
import type { MailThreading, ProviderStatus } from '../../delivery/status';

/** How a message travels: the contract's delivery channels. */
export type Channel = DeliveryChannel;

export interface OutgoingMessage {
  /** The delivery row's id: lets a provider tie callbacks back to it. */
  deliveryId: string;
  channel: Channel;
  /** E.164 number or e-mail address. */
  to: string;
  /** Alphanumeric sender id (SMS) or From address (e-mail). */
  from: string;
  subject?: string;
  /** An e-mail's Message-ID, Reply-To and In-Reply-To, when its requester set them. */
  mail?: MailThreading;
  body: string;
}

export interface Accepted {
  providerId: string;
  status: ProviderStatus;
}

export interface ProviderMessageState {
  providerId: string;
  status: ProviderStatus;
  errorCode?: string;
  errorMessage?: string;
}

/** A provider refusal. `transient` ones (429, 5xx, network) are retried with backoff; the others never. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    message: string,
    readonly transient: boolean,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface Provider {
  readonly name: string;
  readonly channel: Channel;
  send(message: OutgoingMessage): Promise<Accepted>;
  /** The provider's current view of a message (for the reconciler), or null when it does not know it. */
  fetch?(providerId: string): Promise<ProviderMessageState | null>;
  /**
   * A message to `to` with exactly `body` accepted since `since`, if any: after a crash between
   * the provider call and recording its answer, tells whether the message went out.
   */
  findSent?(query: { to: string; body: string; since: Date }): Promise<ProviderMessageState | null>;
}
