/** Field schemas of the org's SMS settings, which api.ts builds its settings, preview and template schemas from. */
import { z } from 'zod';
import { SMS_KINDS } from './vocabulary';

/** "Expéditeur": what the phone shows as sender. Carriers accept 1-11 letters, digits, spaces and - + _ &, not digits only. */
export const senderId = z
  .string()
  .trim()
  .min(1, 'must have 1 to 11 characters')
  .max(11, 'must have at most 11 characters')
  .regex(/^[A-Za-z0-9 \-+_&]+$/, 'may only contain letters, digits, spaces and - + _ &')
  .refine((v) => !/^[0-9 ]+$/.test(v), 'must contain at least one letter (a sender made of digits only is refused by carriers)');

export const signature = z.string().trim().min(1, 'is required').max(60, 'must have at most 60 characters');

/** An org's zone: the shared rule (shared/src/calendar.ts), which the gateway's org schemas use too. */
export { timeZone } from '@relais/shared';

export const templateKinds = z.enum(SMS_KINDS);
