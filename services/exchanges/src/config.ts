import { z } from 'zod';
import { baseConfigSchema } from '@relais/shared';

/** Settings of the exchanges service: the e-mail domain of its conversations and its inbound SMTP listener. */
export const exchangesConfigSchema = baseConfigSchema.extend({
  /**
   * The domain of the Message-IDs of the e-mails exchanges send, and of their reply addresses
   * (`reply+<request id>@<domain>`): mail for that domain must reach the inbound listener (an MX
   * record, or a relay such as Mailpit or Postfix forwarding to it).
   */
  EXCHANGES_MAIL_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+\.[a-z]{2,}$|^localhost$/i, 'must be a domain name such as relais.example.org')
    .default('relais.localhost'),
  /**
   * An e-mail still `sending` this long after it was recorded is handed to the notifications service
   * again (it was down, or the call's answer was lost); the same exchange is never sent twice.
   */
  EMAIL_RESEND_AFTER_MS: z.coerce.number().int().min(100).max(86_400_000).default(120_000),
  /** Port of the inbound SMTP listener that takes replies and bounces; unset: no listener in this instance. */
  INBOUND_SMTP_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).max(65_535).optional()),
  INBOUND_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Largest inbound e-mail taken, attachments included; a larger one is refused with 552. */
  INBOUND_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(50 * 1024 * 1024)
    .default(20 * 1024 * 1024),
});
export type ExchangesConfig = z.infer<typeof exchangesConfigSchema>;
