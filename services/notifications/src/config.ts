import { z } from 'zod';
import { baseConfigSchema } from '@relais/shared';

/** Settings of the notifications service (providers' settings are added by providers/index.ts). */
export const schedulingConfigSchema = z.object({
  /** How often each instance looks for due slots and reminders. */
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
  /** How often each instance looks for deliveries to send (it loops without waiting while there is work). */
  SEND_INTERVAL_MS: z.coerce.number().int().min(20).max(60_000).default(1_000),
  /** A slot or reminder missed (service down) is still sent within this delay, else recorded as skipped. */
  MAX_LATENESS_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(6 * 3600_000),
  /** Deliveries per send lot: what one claim covers and one set of writes records. */
  SEND_BATCH: z.coerce.number().int().min(1).max(2_000).default(500),
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Segments per second per sender id, shared by all instances; 0 = no limit. */
  SMS_RATE_LIMIT: z.coerce.number().min(0).default(0),
  RETRY_BASE_MS: z.coerce.number().int().min(10).default(30_000),
  MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  /** A provider call with no recorded answer after this long is reconciled with the provider. */
  STUCK_AFTER_MS: z.coerce.number().int().min(100).default(120_000),
  /** An accepted message without a final status after this long is asked about. */
  UNFINISHED_AFTER_MS: z.coerce.number().int().min(1_000).default(600_000),
  /** How long each instance trusts the org settings it read (the SMS switch is re-read at send time within this). */
  SETTINGS_CACHE_MS: z.coerce.number().int().min(0).default(2_000),
  /** Shifts this service's clock; for rehearsing a slot without waiting for it. Never set in production. */
  CLOCK_OFFSET_MS: z.coerce.number().int().default(0),
});

export const notificationsConfigSchema = baseConfigSchema.extend(schedulingConfigSchema.shape);
export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;
