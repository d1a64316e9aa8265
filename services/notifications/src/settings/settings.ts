import { z } from 'zod';
import { DEFAULT_SEND_DAYS, type Weekday } from '../planning/slots';
import type { DefaultWording, SmsKind } from './templates';

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
