import type { ActionSchema } from 'moleculer';
import { STAFF, defineAction, validationError } from '@relais/shared';
import { SETTINGS_WRITERS, sensitiveTermsInput, setSensitiveTermsInput } from '../api';
import type { ContactSettingsDoc } from '../data/settings';
import { NO_ORG_TERMS, effectiveTerms, termListProblems, type StoredTermList } from '../domain/sensitiveTerms';
import type { ContactsDeps } from './deps';

const termsView = (doc: ContactSettingsDoc | null) => ({
  ...effectiveTerms(doc?.sensitiveTerms ?? NO_ORG_TERMS),
  updatedAt: doc ? doc.updatedAt.toISOString() : null,
  updatedBy: doc ? doc.updatedBy : null,
});

/** The org's contacts settings: the sensitive terms its channel observations are checked against. */
export function settingsActions(deps: ContactsDeps): Record<string, ActionSchema> {
  return {
    sensitiveTerms: defineAction({
      input: sensitiveTermsInput,
      roles: STAFF,
      async handler(_input, auth) {
        return termsView(await deps.settings.get(auth.orgId));
      },
    }),

    setSensitiveTerms: defineAction({
      input: setSensitiveTermsInput,
      roles: SETTINGS_WRITERS,
      async handler({ added, disabled }, auth) {
        const terms: StoredTermList = { added, disabled };
        const problems = termListProblems(terms);
        if (problems.length > 0) {
          throw validationError(`Invalid input: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
        }
        return termsView(await deps.settings.saveSensitiveTerms(auth.orgId, terms, auth.userId, new Date()));
      },
    }),
  };
}
