import type { FieldProblem } from '@relais/shared';
import type { SensitiveTerm } from '../contract/vocabulary';
import { sensitiveList, type OrgTermList } from './observation';

/**
 * An org's settings of the sensitive terms its observations are checked against: terms of its
 * own added to the French default, and default terms it disabled. Everything that decides what
 * a term matches is observation.ts's (`sensitiveList`); this only maps the stored settings to
 * its `OrgTermList` and reads lists back from it. Pure.
 */
export interface StoredTermList {
  added: SensitiveTerm[];
  /** Default terms left out, as the org wrote them. */
  disabled: string[];
}

export const NO_ORG_TERMS: StoredTermList = { added: [], disabled: [] };

export function orgTermList(stored: StoredTermList): OrgTermList {
  return { terms: stored.added, exclude: stored.disabled };
}

/** The list the org's observations are checked against: every default term, disabled or not, and its own terms. */
export function effectiveTerms(stored: StoredTermList) {
  const active = new Set(sensitiveList({ exclude: stored.disabled }).terms);
  return {
    defaults: sensitiveList().terms.map((t) => ({ term: t.term, category: t.category, disabled: !active.has(t) })),
    added: stored.added.map((t) => ({ term: t.term, category: t.category })),
  };
}

/**
 * What is wrong with a list an org saves: a disabled term that is not a default one (a typo
 * would silently leave the term active), an added term already in the list (an active default
 * or an earlier added entry: to file a default term under another category, disable it and add it).
 */
export function termListProblems(stored: StoredTermList): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const defaults = sensitiveList().terms.length;
  // One list for all of them first; term by term only when some disabled term left nothing out.
  if (sensitiveList({ exclude: stored.disabled }).terms.length > defaults - new Set(stored.disabled).size) {
    stored.disabled.forEach((term, i) => {
      if (sensitiveList({ exclude: [term] }).terms.length === defaults) {
        problems.push({ path: `disabled.${i}`, message: `"${term}" is not a term of the default list` });
      }
    });
  }
  const kept = new Set(sensitiveList(orgTermList(stored)).terms);
  stored.added.forEach((term, i) => {
    if (!kept.has(term))
      problems.push({ path: `added.${i}.term`, message: `"${term.term}" is already in the list (an active default term or an earlier added term)` });
  });
  return problems;
}
