/**
 * The vocabulary of the contacts API: the values its fields take and its limits. The contract
 * owns them (the schemas of contract/*.ts are built from them, and the gateway loads them
 * without any domain code); the domain builds on them. Plain data: no imports.
 */

// ---------------------------------------------------------------------------------------------
// Contact channels (seeds 000 and 002)

export const CHANNEL_KINDS = ['phone', 'email', 'postal'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** "Portable, privé, professionnel" (seed 000). */
export const PHONE_TYPES = ['mobile', 'private', 'professional'] as const;
export type PhoneType = (typeof PHONE_TYPES)[number];

export const EMAIL_TYPES = ['private', 'professional'] as const;
export type EmailType = (typeof EMAIL_TYPES)[number];

// ---------------------------------------------------------------------------------------------
// Qualification of a channel (seed 002)

export const QUALIFICATION_STATES = ['pending', 'validated', 'default', 'invalid'] as const;
export type QualificationState = (typeof QUALIFICATION_STATES)[number];

/** What can show that a channel works (domain/qualification.ts says what each means). */
export const EVIDENCE_KINDS = [
  'outboundCall',
  'inboundCall',
  'smsDelivered',
  'emailDelivered',
  'emailReceived',
  'acknowledgmentOfReceipt',
  'incomingMail',
  'confirmedByParty',
] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** What can show that a channel does not reach the party. */
export const INVALID_REASONS = ['numberNotAttributed', 'notAMobile', 'hardBounce', 'returnedMail', 'wrongPerson', 'other'] as const;
export type InvalidReason = (typeof INVALID_REASONS)[number];

// ---------------------------------------------------------------------------------------------
// Contact actions on a file (seed 002)

export const CONTACT_ACTION_TYPES = ['call', 'letter', 'sms', 'email'] as const;
export type ContactActionType = (typeof CONTACT_ACTION_TYPES)[number];

export const CALL_DIRECTIONS = ['outbound', 'inbound'] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

/** How a call ended: `reached` is evidence the number works; the last two, that it does not reach the party. */
export const CALL_OUTCOMES = ['reached', 'noAnswer', 'voicemail', 'busy', 'wrongPerson', 'notAttributed'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Where an action's status stands: a call or letter is recorded as done; an SMS or e-mail follows its delivery. */
export const CONTACT_ACTION_STATUSES = ['recorded', 'queued', 'delivered', 'failed'] as const;
export type ContactActionStatus = (typeof CONTACT_ACTION_STATUSES)[number];

// ---------------------------------------------------------------------------------------------
// Notes, parties and their search

export const NOTE_MAX_LENGTH = 5000;

export const PARTY_KINDS = ['person', 'company'] as const;
export type PartyKind = (typeof PARTY_KINDS)[number];

/** How a party stands on another party's collections file (seed 002: several debtors on one file). */
export const DEBTOR_ROLES = ['coDebtor', 'guarantor'] as const;
export type DebtorRole = (typeof DEBTOR_ROLES)[number];

/** Longest name query accepted, in words (each costs one condition). */
export const MAX_QUERY_WORDS = 5;

// ---------------------------------------------------------------------------------------------
// Sensitive terms of observations (seed 002; the matching is domain/observation.ts's)

export const SENSITIVE_CATEGORIES = [
  'health',
  'religion',
  'opinions',
  'sexualLife',
  'ethnicOrigin',
  'offences',
  'insult',
  /** Terms an org added. */
  'org',
] as const;
export type SensitiveCategory = (typeof SENSITIVE_CATEGORIES)[number];

export interface SensitiveTerm {
  term: string;
  category: SensitiveCategory;
}

const list = (category: SensitiveCategory, terms: string) => terms.split(',').map((term) => ({ term: term.trim(), category }));

/**
 * The French default: words and phrases whose presence in a comment field is very likely
 * out of place. Ambiguous everyday words are left out (église, noir, syndicat, détenu,
 * invalide, droite...) or listed only inside a phrase ("parti politique", "extrême droite").
 */
export const DEFAULT_SENSITIVE_TERMS: readonly SensitiveTerm[] = [
  ...list(
    'health',
    'maladie, malade, cancer, tumeur, chimiothérapie, sida, vih, séropositif, diabète, diabétique, handicap, ' +
      'alcoolique, alcoolisme, alcoolo, toxicomane, toxicomanie, drogué, dépressif, dépression nerveuse, burn-out, ' +
      'psychiatre, psychiatrique, hospitalisé, hospitalisation, schizophrène, bipolaire, alzheimer, autiste, grossesse, ' +
      'suicide, suicidaire, arrêt de travail',
  ),
  ...list(
    'religion',
    'religion, religieux, musulman, islam, islamiste, juif, chrétien, catholique, protestant, évangélique, bouddhiste, ' +
      'hindou, athée, pratiquant, mosquée, synagogue, ramadan, témoin de jéhovah, secte, franc-maçon',
  ),
  ...list(
    'opinions',
    'parti politique, opinion politique, militant, communiste, socialiste, fasciste, facho, gauchiste, nazi, anarchiste, ' +
      'extrême droite, extrême gauche, front national, rassemblement national, gilet jaune, syndiqué, syndicaliste, ' +
      'délégué syndical, cgt',
  ),
  ...list('sexualLife', 'homosexuel, homosexualité, homo, gay, lesbienne, bisexuel, transsexuel, transgenre, orientation sexuelle, vie sexuelle'),
  ...list(
    'ethnicOrigin',
    'origine ethnique, ethnie, race, racial, couleur de peau, beur, rebeu, gitan, manouche, romanichel, bougnoule, ' +
      'nègre, négro, bamboula, bicot, youpin, chinetoque',
  ),
  ...list(
    'offences',
    'casier judiciaire, antécédents judiciaires, contrôle judiciaire, bracelet électronique, prison, incarcéré, ' +
      'détention provisoire, taulard, délinquant, repris de justice, criminel, escroc, voleur',
  ),
  ...list(
    'insult',
    'abruti, idiot, imbécile, crétin, débile, con, conne, connard, connasse, salaud, salope, pute, enculé, merde, ' +
      'pénible, chiant, casse-pieds, insupportable, menteur, fainéant, feignant, parasite, profiteur, clochard, ' +
      'clodo, cassos, taré, fou, folle, cinglé, radin, minable',
  ),
];
