import { expect } from 'chai';
import { toProblem } from '@relais/shared';
import { problemError } from '../src/domain/channels';
import { termProblem } from '../src/contract/parsing';
import { DEFAULT_SENSITIVE_TERMS, SENSITIVE_CATEGORIES } from '../src/contract/vocabulary';
import { checkObservation, inflectionKey, observationWarnings, sensitiveList } from '../src/domain/observation';

const french = sensitiveList();
const found = (text: string, list = french) => observationWarnings(text, list).map((w) => w.found);
const terms = (text: string, list = french) => observationWarnings(text, list).map((w) => [w.term, w.category]);

describe('sensitive words in observations', () => {
  it('brings plurals and feminines to one form', () => {
    expect(['malade', 'malades', 'MALADES'].map((w) => inflectionKey(w.toLowerCase()))).to.deep.equal(['malad', 'malad', 'malad']);
    expect(['religieux', 'religieuse', 'religieuses'].map(inflectionKey)).to.deep.equal(['religieu', 'religieu', 'religieu']);
    expect(['juif', 'juive', 'juives', 'juifs'].map(inflectionKey)).to.deep.equal(['juif', 'juif', 'juif', 'juif']);
    expect(['criminel', 'criminelle', 'criminelles'].map(inflectionKey)).to.deep.equal(['criminel', 'criminel', 'criminel']);
    expect(['syndical', 'syndicaux', 'syndicale'].map(inflectionKey)).to.deep.equal(['syndical', 'syndical', 'syndical']);
    expect(['menteur', 'menteuse', 'menteurs'].map(inflectionKey)).to.deep.equal(['menteu', 'menteu', 'menteu']);
    expect(['hospitalise', 'hospitalisee', 'hospitalisees'].map(inflectionKey)).to.deep.equal(['hospitalis', 'hospitalis', 'hospitalis']);
    expect(['con', 'cons', 'pd'].map(inflectionKey)).to.deep.equal(['con', 'con', 'pd']);
  });

  it('finds listed words whatever their case, accents and inflection, as they were typed', () => {
    expect(terms('Séropositives, MALADES chroniques')).to.deep.equal([
      ['séropositif', 'health'],
      ['malade', 'health'],
    ]);
    expect(found('seropositif')).to.deep.equal(['seropositif']);
    expect(found('Se\u0301ropositif (texte décomposé)')).to.deep.equal(['Se\u0301ropositif']);
    expect(terms('religieuse pratiquante')).to.deep.equal([
      ['religieux', 'religion'],
      ['pratiquant', 'religion'],
    ]);
    expect(terms('famille juive')).to.deep.equal([['juif', 'religion']]);
    expect(terms('HOMOSEXUELLES')).to.deep.equal([['homosexuel', 'sexualLife']]);
    expect(terms('hospitalisée en mars')).to.deep.equal([['hospitalisé', 'health']]);
    expect(terms("parle de l'islam")).to.deep.equal([['islam', 'religion']]);
    expect(terms('Menteuse et voleuse')).to.deep.equal([
      ['menteur', 'insult'],
      ['voleur', 'offences'],
    ]);
  });

  it('finds phrases across inflections, words typed with hyphens or apostrophes', () => {
    expect(terms('Témoins de Jéhovah')).to.deep.equal([['témoin de jéhovah', 'religion']]);
    expect(found('deux casiers judiciaires')).to.deep.equal(['casiers judiciaires']);
    expect(found('déléguées syndicales')).to.deep.equal(['déléguées syndicales']);
    expect(found('délégués syndicaux')).to.deep.equal(['délégués syndicaux']);
    expect(found("vote à l'extrême-droite")).to.deep.equal(['extrême-droite']);
    expect(found('un vrai casse pieds')).to.deep.equal(['casse pieds']);
    // A phrase needs all its words in a row.
    expect(found('casier vide, judiciaire')).to.deep.equal([]);
  });

  it('reports each term once, in the order of the text, and not again inside a longer one', () => {
    expect(terms('malade, très malade; maladie longue, militant')).to.deep.equal([
      ['malade', 'health'],
      ['maladie', 'health'],
      ['militant', 'opinions'],
    ]);
    const list = sensitiveList({ terms: ['fragile', 'cœur fragile'] });
    expect(terms('cœur fragile, fragile', list)).to.deep.equal([
      ['cœur fragile', 'org'],
      ['fragile', 'org'],
    ]);
  });

  it('matches whole words, never inside another word', () => {
    expect(found('Clause subsidiaire, maladroit, Maladière & fils, trace écrite, Racine')).to.deep.equal([]);
    expect(found('Cabinet Condé, conseiller, contrat, consulter')).to.deep.equal([]);
  });

  it('says nothing of ordinary observations', () => {
    for (const ordinary of [
      'Comptable de la société, joignable le matin',
      'Directrice administrative et financière (DAF)',
      'Préfère être contacté par e-mail après 18 h, pratique pour lui',
      'Secrétaire du syndic de copropriété',
      'Parti en congés jusqu’au 12 mars',
      'Gérante, bureau au 2e étage, porte de droite',
      'Standard : demander le service contentieux',
      'Fils de la débitrice, joignable le soir',
      'Créance détenue par la banque, numéro invalide signalé par La Poste',
      'Ne pas appeler le mercredi ; courrier à l’église Saint-Pierre refusé',
      'Arrivé à La Réunion en 2019, parle créole et français',
      'Assistante de direction, poste 214 — rappeler avant 17 h',
      'Infirmière à l’hôpital de Saint-Pierre, horaires de nuit',
      'Syndicat intercommunal des eaux, service facturation',
    ]) {
      expect(observationWarnings(ordinary, french), ordinary).to.deep.equal([]);
    }
  });

  it('files every default term under a category of the CNIL guidance, each matchable', () => {
    const categories = new Set(DEFAULT_SENSITIVE_TERMS.map((t) => t.category));
    expect([...categories].sort()).to.deep.equal(SENSITIVE_CATEGORIES.filter((c) => c !== 'org').sort());
    for (const { term } of DEFAULT_SENSITIVE_TERMS) {
      expect(termProblem(term), term).to.equal(null);
      expect(found(term), term).to.deep.equal([term]);
    }
    expect(french.terms).to.have.length(DEFAULT_SENSITIVE_TERMS.length);
  });

  it("adds an org's terms to the default, leaves out those it excludes, or uses only its own", () => {
    const extended = sensitiveList({ terms: ['Cœur fragile', { term: 'surendetté', category: 'health' }], exclude: ['PRISON'] });
    expect(terms('COEUR FRAGILE, sort de prison, surendettée', extended)).to.deep.equal([
      ['Cœur fragile', 'org'],
      ['surendetté', 'health'],
    ]);
    const own = sensitiveList({ terms: ['aumônier'], replaceDefault: true });
    expect(terms('malade, suivi par un aumônier', own)).to.deep.equal([['aumônier', 'org']]);
    // A term the default already has, or without a letter, is listed once or not at all.
    expect(sensitiveList({ terms: ['Malades', ' - '] }).terms).to.have.length(DEFAULT_SENSITIVE_TERMS.length);
    expect(termProblem(' - ')).to.equal('must contain a letter or a digit');
  });
});

describe('checking an observation before it is saved', () => {
  it('tidies the text, and saves an ordinary one, or none', () => {
    expect(checkObservation('  Comptable,\n joignable  le matin ', french)).to.deep.equal({
      ok: true,
      observation: 'Comptable, joignable le matin',
      warnings: [],
    });
    expect(checkObservation('   ', french)).to.deep.equal({ ok: true, observation: null, warnings: [] });
    expect(checkObservation(null, french)).to.deep.equal({ ok: true, observation: null, warnings: [] });
  });

  it('refuses a text with listed terms until each is acknowledged, saying why the person may read it', () => {
    const r = checkObservation('Client pénible, alcoolique', french);
    if (r.ok) return expect.fail('accepted');
    expect(r.problem).to.deep.equal({
      code: 'sensitive-observation',
      message:
        'The observation contains "pénible" (an insulting or subjective judgement), "alcoolique" (health). It must be objective and related ' +
        'to the file, and the person has the right to read it: rephrase it, or confirm that it is needed to save it as it is.',
      path: 'observation',
      fields: [
        { path: 'observation', message: '"pénible": an insulting or subjective judgement' },
        { path: 'observation', message: '"alcoolique": health' },
      ],
      warnings: [
        { term: 'pénible', category: 'insult', found: 'pénible' },
        { term: 'alcoolique', category: 'health', found: 'alcoolique' },
      ],
    });
    expect(toProblem(problemError(r.problem))).to.deep.include({ status: 422, errors: r.problem.fields });
  });

  it('saves it once every term is acknowledged, case and accents aside, and keeps the warnings for the client', () => {
    const r = checkObservation('Client pénible, alcoolique', french, ['PENIBLE', 'alcoolique']);
    expect(r).to.deep.equal({
      ok: true,
      observation: 'Client pénible, alcoolique',
      warnings: [
        { term: 'pénible', category: 'insult', found: 'pénible' },
        { term: 'alcoolique', category: 'health', found: 'alcoolique' },
      ],
    });
  });

  it('does not let an acknowledgement of an earlier text cover a term added since', () => {
    const r = checkObservation('Client pénible, alcoolique, sort de prison', french, ['pénible', 'alcoolique']);
    if (r.ok) return expect.fail('accepted');
    expect(r.problem.fields).to.deep.equal([{ path: 'observation', message: '"prison": offences, convictions or criminal record' }]);
    expect(r.problem.warnings.map((w) => w.term)).to.deep.equal(['pénible', 'alcoolique', 'prison']);
  });
});
