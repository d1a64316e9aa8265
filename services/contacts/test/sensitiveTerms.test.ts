import { expect } from 'chai';
import { setSensitiveTermsInput } from '../src/api';
import { DEFAULT_SENSITIVE_TERMS } from '../src/contract/vocabulary';
import { checkObservation, sensitiveList } from '../src/domain/observation';
import { NO_ORG_TERMS, effectiveTerms, orgTermList, termListProblems } from '../src/domain/sensitiveTerms';

describe("an org's list of sensitive terms", () => {
  it('shows every default term, none disabled, until the org saves its own', () => {
    const view = effectiveTerms(NO_ORG_TERMS);
    expect(view.defaults).to.have.length(DEFAULT_SENSITIVE_TERMS.length);
    expect(view.defaults.every((t) => !t.disabled)).to.equal(true);
    expect(view.added).to.deep.equal([]);
  });

  it('marks the default terms it disabled, whatever their case and accents, and lists its own with their category', () => {
    const stored = { added: [{ term: 'huissier', category: 'org' as const }], disabled: ['PENIBLE', 'diabétique'] };
    const view = effectiveTerms(stored);
    expect(view.defaults.filter((t) => t.disabled).map((t) => t.term)).to.deep.equal(['diabétique', 'pénible']);
    expect(view.added).to.deep.equal([{ term: 'huissier', category: 'org' }]);
    const list = sensitiveList(orgTermList(stored));
    expect(checkObservation('Comptable, pénible', list).ok).to.equal(true);
    const refused = checkObservation('Voir avec les huissiers', list);
    expect(refused.ok).to.equal(false);
    expect(!refused.ok && refused.problem.warnings).to.deep.equal([{ term: 'huissier', category: 'org', found: 'huissiers' }]);
  });

  it('refuses a disabled term that is not in the default list, and an added term already listed', () => {
    expect(termListProblems({ added: [], disabled: ['pénible', 'Pénible'] })).to.deep.equal([]);
    expect(termListProblems({ added: [], disabled: ['pénible', 'penibles', 'huissier'] })).to.deep.equal([
      { path: 'disabled.2', message: '"huissier" is not a term of the default list' },
    ]);
    const added = [
      { term: 'Malades', category: 'org' as const },
      { term: 'huissier', category: 'org' as const },
      { term: 'Huissiers', category: 'insult' as const },
    ];
    expect(termListProblems({ added, disabled: [] }).map((p) => p.path)).to.deep.equal(['added.0.term', 'added.2.term']);
    // A default term disabled can come back under another category.
    expect(termListProblems({ added: [{ term: 'malade', category: 'org' }], disabled: ['malade'] })).to.deep.equal([]);
  });

  it('validates each term with termProblem, its category, and at most 500 added terms', () => {
    const parsed = setSensitiveTermsInput.parse({ added: [{ term: '  huissier ' }], disabled: [' pénible'] });
    expect(parsed).to.deep.equal({ added: [{ term: 'huissier', category: 'org' }], disabled: ['pénible'] });
    const bad = setSensitiveTermsInput.safeParse({
      added: [
        { term: '--', category: 'health' },
        { term: 'x', category: 'gossip' },
      ],
      disabled: ['!!'],
    });
    expect(bad.success).to.equal(false);
    expect(bad.error!.issues.map((i) => [i.path.join('.'), i.message])).to.deep.equal([
      ['added.0.term', 'must contain a letter or a digit'],
      ['added.1.category', 'must be one of health, religion, opinions, sexualLife, ethnicOrigin, offences, insult, org'],
      ['disabled.0', 'must contain a letter or a digit'],
    ]);
    const many = Array.from({ length: 501 }, (_, i) => ({ term: `terme${i}` }));
    expect(setSensitiveTermsInput.safeParse({ added: many, disabled: [] }).success).to.equal(false);
  });
});
