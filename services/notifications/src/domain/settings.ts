import { z } from 'zod';
import { DEFAULT_SEND_DAYS, type Weekday } from './schedule';
import { SMS_KINDS, type DefaultWording, type SmsKind } from './templates';

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

export const weekday = z.number().int().min(1).max(7) as unknown as z.ZodType<Weekday>;

export interface OrgSettings {
  orgId: string;
  smsEnabled: boolean;
  senderId: string | null;
  signature: string | null;
  sendDays: Weekday[];
  timeZone: string;
  /** Org-edited templates; the default French text applies to kinds not listed. */
  templates: Partial<Record<SmsKind, string>>;
  /** Which default texts apply to kinds without a custom template (see DEFAULT_WORDINGS). */
  defaultWording: DefaultWording;
  version: number;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export function defaultSettings(orgId: string, zone: string): OrgSettings {
  return {
    orgId,
    smsEnabled: false,
    senderId: null,
    signature: null,
    sendDays: [...DEFAULT_SEND_DAYS],
    timeZone: zone,
    templates: {},
    defaultWording: 'standard',
    version: 0,
    updatedAt: null,
    updatedBy: null,
  };
}

export interface SettingsChange {
  smsEnabled?: boolean;
  senderId?: string | null;
  signature?: string | null;
  sendDays?: Weekday[];
  timeZone?: string;
  defaultWording?: DefaultWording;
}

/**
 * Applies a change; SMS on requires a sender id and a signature (seed 001). Returns the
 * settings or the problems per field. Pure.
 */
export function applySettings(
  current: OrgSettings,
  change: SettingsChange,
): { ok: true; settings: OrgSettings } | { ok: false; problems: { path: string; message: string }[] } {
  const next: OrgSettings = {
    ...current,
    ...change,
    sendDays: change.sendDays ? [...new Set(change.sendDays)].sort() : current.sendDays,
  };
  const problems: { path: string; message: string }[] = [];
  if (next.smsEnabled && !next.senderId) problems.push({ path: 'senderId', message: 'is required when SMS are enabled' });
  if (next.smsEnabled && !next.signature) problems.push({ path: 'signature', message: 'is required when SMS are enabled' });
  if (next.sendDays.length === 0) problems.push({ path: 'sendDays', message: 'needs at least one day' });
  return problems.length ? { ok: false, problems } : { ok: true, settings: next };
}

export const templateKinds = z.enum(SMS_KINDS);
