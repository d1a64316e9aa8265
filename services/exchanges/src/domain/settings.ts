import { DEFAULT_EXCHANGE_TYPES, REMINDER_TYPE } from './exchanges';

/*
 * An org's settings of exchanges: its list of types (seed 004's "Type", configurable per org), how
 * long an exchange's author may delete it, and how long after a request is done its client may
 * still post on it from the portal. Pure.
 */

export interface ExchangeSettings {
  types: { id: string; label: string }[];
  deleteWindowMinutes: number;
  portalPostDays: number;
}

export const DEFAULT_SETTINGS: ExchangeSettings = {
  types: DEFAULT_EXCHANGE_TYPES.map((t) => ({ ...t })),
  deleteWindowMinutes: 60,
  portalPostDays: 15,
};

/** Why `types` cannot be an org's list, or null: ids once each, and the reminder type kept (the red counter). */
export function typesRefusal(types: readonly { id: string }[]): string | null {
  const ids = types.map((t) => t.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) return `the type ${twice} is listed twice`;
  if (!ids.includes(REMINDER_TYPE)) return `the list must keep the type ${REMINDER_TYPE}: it turns a request's counter red`;
  return null;
}

/** The label of a type, or the id itself for a type the org has since removed (its old exchanges keep it). */
export const typeLabel = (s: ExchangeSettings, id: string): string => s.types.find((t) => t.id === id)?.label ?? id;

/** Why `type` cannot be given to a new exchange, or null. */
export function typeRefusal(s: ExchangeSettings, type: string): string | null {
  return s.types.some((t) => t.id === type) ? null : `is not one of this organisation's exchange types (${s.types.map((t) => t.id).join(', ')})`;
}

/** The type of an exchange nobody chose one for (an e-mail that came in, a portal post): contact, else the org's first. */
export const defaultType = (s: ExchangeSettings): string => (s.types.some((t) => t.id === 'contact') ? 'contact' : s.types[0].id);
