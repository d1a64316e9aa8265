import { expect } from 'chai';
import { storedTemplates } from '../src/settings/repo';
import { localTime } from '../src/planning/localTime';
import { SEGMENT_SIZES, smsSize, ucs2Characters } from '../src/delivery/sms';
import { GSM7_TEMPLATES, SMS_KINDS, compileTemplate, defaultTemplate, sampleVariables, templateProblem } from '../src/settings/templates';

describe('SMS texts: what forces UCS-2, segment sizes, the GSM-7 wording', () => {
  it('names each character outside GSM-7 with its position, counted as the characters are', () => {
    expect(ucs2Characters('Bonjour, Vous avez reçu 1 nouveau courrier')).to.deep.equal([{ character: 'ç', position: 22 }]);
    // é, è, à and ù are GSM-7; ê, î, ô and œ are not; an emoji is one character.
    expect(ucs2Characters('été à Nîmes 🙂 œuvre')).to.deep.equal([
      { character: 'î', position: 8 },
      { character: '🙂', position: 13 },
      { character: 'œ', position: 15 },
    ]);
    expect(ucs2Characters('Prix: 5€ [promo]')).to.deep.equal([]);
  });

  it('counts segments with the sizes the settings show: 160/153 in GSM-7, 70/67 in UCS-2', () => {
    expect(SEGMENT_SIZES).to.deep.equal({ 'GSM-7': { single: 160, multipart: 153 }, 'UCS-2': { single: 70, multipart: 67 } });
    expect(smsSize('a'.repeat(306)).segments).to.equal(2);
    expect(smsSize('a'.repeat(307)).segments).to.equal(3);
    expect(smsSize('ç'.repeat(70)).segments).to.equal(1);
    expect(smsSize('ç'.repeat(134)).segments).to.equal(2);
    expect(smsSize('ç'.repeat(135)).segments).to.equal(3);
    expect(smsSize('€'.repeat(80)).segments).to.equal(1);
    expect(smsSize('€'.repeat(81)).segments).to.equal(2);
  });

  it('the GSM-7 wording keeps every default SMS in GSM-7, where a long signature still fits one segment', () => {
    const signature = "Centre communal d'action sociale de Saint-Denis";
    for (const kind of SMS_KINDS) {
      for (const count of [1, 2]) {
        const text = compileTemplate(GSM7_TEMPLATES[kind])({ ...sampleVariables(kind, signature), count });
        expect(smsSize(text), text).to.include({ encoding: 'GSM-7', segments: 1 });
        expect(ucs2Characters(text), text).to.deep.equal([]);
      }
    }
    expect(compileTemplate(defaultTemplate('gsm7', 'mail.deliveryNotice'))({ count: 1, signature: 'CCAS' })).to.equal(
      'Bonjour, Vous avez 1 nouvel avis de passage CCAS',
    );
    // The same signature costs the standard wording two segments.
    const standard = compileTemplate(defaultTemplate('standard', 'mail.letter'))({ count: 3, signature });
    expect(smsSize(standard)).to.include({ encoding: 'UCS-2', segments: 2 });
  });
});

describe('template problems, worded for the admin', () => {
  const jsText = /TypeError|Cannot |undefined|\[object Object\]|Expecting|lookupProperty|is not a function/;

  it('says which variable is unknown, which block is not closed, how to write plural', () => {
    expect(templateProblem('mail.letter', 'Bonjour {{nom}}')).to.equal(
      'the template does not render: {{nom}} is not a variable or helper of this SMS (available: {{count}}, {{signature}} and {{plural count "courrier" "courriers"}})',
    );
    expect(templateProblem('domiciliation.reminder', 'Fin le {{count}}')).to.match(/\{\{count\}\} is not a variable .*\{\{endDate\}\}, \{\{signature\}\}\)$/);
    expect(templateProblem('mail.letter', 'Bonjour {{#if count}}x')).to.match(/not valid handlebars near ".*\{\{#if count\}\}x" \(line 1\).*\{\{\/if\}\}/);
    expect(templateProblem('mail.letter', '{{#if count}}x{{/each}}')).to.match(/\{\{#if\}\} is closed by \{\{\/each\}\}: close it with \{\{\/if\}\}/);
    expect(templateProblem('mail.letter', '{{count}} {{plural count "courrier"}}')).to.match(/\{\{plural count "courrier" "courriers"\}\}/);
  });

  it('never repeats a JavaScript error text', () => {
    for (const source of ['{{count.total}}', '{{signature.length}}', '{{count "x"}}', '{{helperMissing}}', '{{plural}}', '{{> partial}}', '{{../count}}']) {
      const problem = templateProblem('mail.letter', source);
      expect(problem, source).to.be.a('string').and.not.match(jsText);
    }
  });

  it('a template saved before the plural check still renders, with the singular; {{log}} writes nothing anywhere', () => {
    expect(compileTemplate('{{count}} {{plural count "courrier"}} {{log signature}}')({ count: 2, signature: 'CCAS' })).to.equal('2 courrier');
    expect(templateProblem('mail.letter', '{{log signature}} {{count}}')).to.equal(null);
  });
});

describe("local times in the org's zone", () => {
  it('seed 001: 13/10/2021 à 19:00 in Paris (summer time) and in Réunion', () => {
    expect(localTime(new Date('2021-10-13T17:00:00Z'), 'Europe/Paris')).to.deep.equal({ iso: '2021-10-13T19:00:00+02:00', label: '13/10/2021 à 19:00' });
    expect(localTime(new Date('2021-10-13T15:00:00Z'), 'Indian/Reunion')).to.deep.equal({ iso: '2021-10-13T19:00:00+04:00', label: '13/10/2021 à 19:00' });
  });

  it('follows the DST change: the two 02:30 of 25 October 2026 in Paris differ by their offset', () => {
    expect(localTime(new Date('2026-10-25T00:30:00Z'), 'Europe/Paris').iso).to.equal('2026-10-25T02:30:00+02:00');
    expect(localTime(new Date('2026-10-25T01:30:00Z'), 'Europe/Paris').iso).to.equal('2026-10-25T02:30:00+01:00');
    expect(localTime(new Date('2026-06-23T23:00:00Z'), 'America/Martinique').label).to.equal('23/06/2026 à 19:00');
  });
});

describe('stored templates', () => {
  it('reads the list of { kind, source } and the earlier object keyed by kind', () => {
    expect(storedTemplates({ customTemplates: [{ kind: 'mail.letter', source: 'A {{count}}' }] })).to.deep.equal({ 'mail.letter': 'A {{count}}' });
    expect(storedTemplates({ templates: { 'mail.parcel': 'B {{count}}', 'mail.unknown': 'x' } })).to.deep.equal({ 'mail.parcel': 'B {{count}}' });
    // Saved by this code: the list, even empty, is what the org has.
    expect(storedTemplates({ customTemplates: [], templates: { 'mail.parcel': 'B' } })).to.deep.equal({});
    expect(storedTemplates({})).to.deep.equal({});
  });
});
