import { z } from 'zod';
import { STAFF, singleLine, type Role, type Route } from '@relais/shared';
import { termProblem } from './parsing';
import { DEFAULT_SENSITIVE_TERMS, SENSITIVE_CATEGORIES } from './vocabulary';

// ---------------------------------------------------------------------------------------------
// The org's list of sensitive terms that observations are checked against (seed 002)

/** Who may change what every observation of the org is checked against. */
export const SETTINGS_WRITERS: readonly Role[] = ['admin', 'manager'];

export const MAX_ADDED_TERMS = 500;

const term = z
  .string()
  .trim()
  .max(100, 'must be at most 100 characters')
  .refine(singleLine.check, singleLine.message)
  .superRefine((t, ctx) => {
    const problem = termProblem(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const category = z.enum(SENSITIVE_CATEGORIES, { error: `must be one of ${SENSITIVE_CATEGORIES.join(', ')}` });

export const sensitiveTermsInput = z.strictObject({});

export const setSensitiveTermsInput = z
  .strictObject({
    added: z
      .array(z.strictObject({ term, category: category.default('org').describe('Why it is listed, as the warning says it; `org` by default') }))
      .max(MAX_ADDED_TERMS, `must hold at most ${MAX_ADDED_TERMS} terms`)
      .describe("The org's own terms, matched like the default ones (whole words, case, accents and plurals ignored)"),
    disabled: z
      .array(term)
      .max(DEFAULT_SENSITIVE_TERMS.length, `must hold at most ${DEFAULT_SENSITIVE_TERMS.length} terms, the size of the default list`)
      .describe('Default terms the org does not want flagged, as written in the default list'),
  })
  .meta({
    examples: [
      {
        added: [
          { term: 'mauvais payeur', category: 'insult' },
          { term: 'huissier', category: 'org' },
        ],
        disabled: ['pénible'],
      },
    ],
  });
export type SetSensitiveTermsInput = z.infer<typeof setSensitiveTermsInput>;

export const sensitiveTermsView = z.object({
  /** The French default, each term marked when the org disabled it. */
  defaults: z.array(z.object({ term: z.string(), category, disabled: z.boolean() })),
  added: z.array(z.object({ term: z.string(), category })),
  /** When and by whom the org last saved its list; null while it uses the default as it is. */
  updatedAt: z.iso.datetime().nullable(),
  updatedBy: z.string().nullable(),
});

export const settingsRoutes: Route[] = [
  {
    method: 'get',
    path: '/v1/contacts/settings/sensitive-terms',
    action: 'contacts.sensitiveTerms',
    input: sensitiveTermsInput,
    output: sensitiveTermsView,
    roles: STAFF,
    summary: "The terms the org's channel observations are checked against: the default ones (disabled or not) and its own",
    description: 'Every staff role may read it.',
    tag: 'Contact channels',
  },
  {
    method: 'put',
    path: '/v1/contacts/settings/sensitive-terms',
    action: 'contacts.setSensitiveTerms',
    input: setSensitiveTermsInput,
    output: sensitiveTermsView,
    roles: SETTINGS_WRITERS,
    summary: "Replace the org's own sensitive terms and the default terms it disabled",
    description:
      'Admins and managers. A disabled term must be one of the default list, and an added term must not be in the list already (422); ' +
      'to file a default term under another category, disable it and add it. Observations written from then on are checked against the ' +
      'new list (on other instances of the service within 5 seconds).',
    tag: 'Contact channels',
  },
];
