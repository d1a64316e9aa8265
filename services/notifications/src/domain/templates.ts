import Handlebars from 'handlebars';
import type { MailKind } from '@relais/shared';

/** The SMS kinds Relais sends and their default French texts (seed 001's history table). */
export const SMS_KINDS = ['mail.letter', 'mail.parcel', 'mail.deliveryNotice', 'domiciliation.reminder'] as const;
export type SmsKind = (typeof SMS_KINDS)[number];

export const mailSmsKind = (kind: MailKind): SmsKind => `mail.${kind}` as SmsKind;

export const DEFAULT_TEMPLATES: Record<SmsKind, string> = {
  'mail.letter': 'Bonjour, Vous avez reçu {{count}} {{plural count "nouveau courrier" "nouveaux courriers"}} {{signature}}',
  'mail.parcel': 'Bonjour, Vous avez reçu {{count}} {{plural count "nouveau colis" "nouveaux colis"}} {{signature}}',
  'mail.deliveryNotice':
    'Bonjour, Vous avez reçu {{count}} {{plural count "nouvel avis de passage" "nouveaux avis de passage"}} {{signature}}',
  'domiciliation.reminder':
    'Bonjour, Votre domiciliation prend fin le {{endDate}}. Pensez à la renouveler auprès de votre structure. {{signature}}',
};

/** Labels of the history's "Type de SMS" column. */
export const SMS_KIND_LABELS: Record<SmsKind, string> = {
  'mail.letter': 'Courrier enregistré',
  'mail.parcel': 'Colis enregistré',
  'mail.deliveryNotice': 'Avis de passage enregistré',
  'domiciliation.reminder': 'Rappel de fin de domiciliation',
};

/** Variables each kind's template may use (strict mode rejects any other). */
export const TEMPLATE_VARIABLES: Record<SmsKind, string[]> = {
  'mail.letter': ['count', 'signature'],
  'mail.parcel': ['count', 'signature'],
  'mail.deliveryNotice': ['count', 'signature'],
  'domiciliation.reminder': ['endDate', 'signature'],
};

const frPlural = new Intl.PluralRules('fr-FR');
const hb = Handlebars.create();
// French: 0 and 1 take the singular ("0 nouveau courrier", "1 nouveau courrier", "2 nouveaux courriers").
hb.registerHelper('plural', (count: unknown, one: unknown, other: unknown) =>
  frPlural.select(Number(count)) === 'one' ? String(one) : String(other),
);

export type Render = (vars: Record<string, unknown>) => string;

/** Compiles a template once; unknown variables and helpers fail at render. No HTML escaping: these are SMS. */
export function compileTemplate(source: string): Render {
  const template = hb.compile(source, { noEscape: true, strict: true });
  return (vars) => template(vars).replace(/\s+/g, ' ').trim();
}

/** Checks a template by rendering it with sample values; returns the error a person can act on, if any. */
export function templateProblem(kind: SmsKind, source: string): string | null {
  try {
    const sample = sampleVariables(kind, 'Signature');
    compileTemplate(source)(sample);
    return null;
  } catch (err) {
    const allowed = TEMPLATE_VARIABLES[kind].map((v) => `{{${v}}}`).join(', ');
    return `the template does not render: ${(err as Error).message.split('\n')[0]} (available: ${allowed})`;
  }
}

export function sampleVariables(kind: SmsKind, signature: string): Record<string, unknown> {
  return kind === 'domiciliation.reminder' ? { endDate: '31/05/2027', signature } : { count: 2, signature };
}
