import Handlebars from 'handlebars';
import type { MailKind } from '@relais/shared';
import type { DefaultWording, SmsKind } from '../contract/vocabulary';

// The kinds and wordings are the contract's (api.ts describes them); re-exported for the domain's callers.
export { DEFAULT_WORDINGS, SMS_KINDS, type DefaultWording, type SmsKind } from '../contract/vocabulary';

export const mailSmsKind = (kind: MailKind): SmsKind => `mail.${kind}` as SmsKind;

/** The default French texts of each SMS kind (seed 001's history table). */
export const DEFAULT_TEMPLATES: Record<SmsKind, string> = {
  'mail.letter': 'Bonjour, Vous avez reçu {{count}} {{plural count "nouveau courrier" "nouveaux courriers"}} {{signature}}',
  'mail.parcel': 'Bonjour, Vous avez reçu {{count}} {{plural count "nouveau colis" "nouveaux colis"}} {{signature}}',
  'mail.deliveryNotice': 'Bonjour, Vous avez reçu {{count}} {{plural count "nouvel avis de passage" "nouveaux avis de passage"}} {{signature}}',
  'domiciliation.reminder': 'Bonjour, Votre domiciliation prend fin le {{endDate}}. Pensez à la renouveler auprès de votre structure. {{signature}}',
};

/** The 'gsm7' wording: "Vous avez 3 nouveaux courriers" rather than a misspelt "recu". The reminder is GSM-7 already. */
export const GSM7_TEMPLATES: Record<SmsKind, string> = {
  'mail.letter': 'Bonjour, Vous avez {{count}} {{plural count "nouveau courrier" "nouveaux courriers"}} {{signature}}',
  'mail.parcel': 'Bonjour, Vous avez {{count}} {{plural count "nouveau colis" "nouveaux colis"}} {{signature}}',
  'mail.deliveryNotice': 'Bonjour, Vous avez {{count}} {{plural count "nouvel avis de passage" "nouveaux avis de passage"}} {{signature}}',
  'domiciliation.reminder': DEFAULT_TEMPLATES['domiciliation.reminder'],
};

export const defaultTemplate = (wording: DefaultWording, kind: SmsKind): string => (wording === 'gsm7' ? GSM7_TEMPLATES : DEFAULT_TEMPLATES)[kind];

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

/** A mistake in a template, worded for the admin who wrote it. */
class TemplateMistake extends Error {}

const frPlural = new Intl.PluralRules('fr-FR');
const hb = Handlebars.create();
// French: 0 and 1 take the singular ("0 nouveau courrier", "1 nouveau courrier", "2 nouveaux courriers").
// Handlebars passes its options last, so a missing word arrives as that object. A check refuses it; a
// template saved before this check still renders (the singular), so its org's slot does not fail.
hb.registerHelper('plural', (...args: unknown[]) => {
  const options = args.pop() as Handlebars.HelperOptions;
  const [count, one, other] = args;
  if (typeof one !== 'string' || typeof other !== 'string') {
    if ((options.data as { checking?: boolean } | undefined)?.checking)
      throw new TemplateMistake('{{plural}} needs the count and two words in quotes, e.g. {{plural count "courrier" "courriers"}}');
    return typeof one === 'string' ? one : '';
  }
  return frPlural.select(Number(count)) === 'one' ? one : other;
});
// Handlebars' {{log}} writes to the console: a template could put message bodies in the logs.
hb.registerHelper('log', () => '');

export type Render = (vars: Record<string, unknown>) => string;

const compile = (source: string) => hb.compile(source, { noEscape: true, strict: true });

/** Compiles a template once; unknown variables and helpers fail at render. No HTML escaping: these are SMS. */
export function compileTemplate(source: string): Render {
  const template = compile(source);
  return (vars) => template(vars).replace(/\s+/g, ' ').trim();
}

/** Checks a template by rendering it with sample values; returns the error a person can act on, if any. */
export function templateProblem(kind: SmsKind, source: string): string | null {
  try {
    const sample = sampleVariables(kind, 'Signature');
    compile(source)(sample, { data: { checking: true } });
    return null;
  } catch (err) {
    return `the template does not render: ${explain(err, kind)}`;
  }
}

/**
 * What is wrong and how to fix it, from a handlebars error. Only texts written here reach the admin:
 * anything else (a TypeError of a misused variable, say) gets the general advice. Pure.
 */
function explain(err: unknown, kind: SmsKind): string {
  const variables = TEMPLATE_VARIABLES[kind];
  const available = `available: ${variables.map((v) => `{{${v}}}`).join(', ')}${variables.includes('count') ? ' and {{plural count "courrier" "courriers"}}' : ''}`;
  const message = err instanceof Error ? err.message : '';
  if (err instanceof TemplateMistake) return message;
  const parse = /^(?:Parse|Lexical) error on line (\d+)/.exec(message);
  if (parse) {
    // The parser's second line is the part of the template where it stopped.
    const near = message.split('\n')[1] ?? '';
    return `it is not valid handlebars near "${near}" (line ${parse[1]}): each {{ needs its }}, and each {{#if ...}} or {{#each ...}} its {{/if}} or {{/each}}`;
  }
  const unknown = /^"([^"]+)" not defined in /.exec(message);
  // A known name reported missing was looked up elsewhere ({{../count}}): the general advice fits it.
  if (unknown && !variables.includes(unknown[1])) return `{{${unknown[1]}}} is not a variable or helper of this SMS (${available})`;
  const mismatch = /^(\S+) doesn't match (\S+)/.exec(message);
  if (mismatch) return `{{#${mismatch[1]}}} is closed by {{/${mismatch[2]}}}: close it with {{/${mismatch[1]}}}`;
  return `check how each {{...}} uses its variable (${available}): a variable is written alone, as in {{${variables[0]}}}, without fields or arguments`;
}

export function sampleVariables(kind: SmsKind, signature: string): Record<string, unknown> {
  return kind === 'domiciliation.reminder' ? { endDate: '31/05/2027', signature } : { count: 2, signature };
}
