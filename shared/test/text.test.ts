import { expect } from 'chai';
import { z } from 'zod';
import { parseInput, singleLine, textProblem, textProblems } from '../src';

describe('boundary rule on text', () => {
  it('refuses what a database cannot store or what disguises text, and says which character', () => {
    expect(textProblem('CAF\u0000')).to.match(/control character \(U\+0000\)/);
    expect(textProblem('a\u001bb')).to.match(/U\+001B/);
    expect(textProblem('bell\u0007')).to.match(/U\+0007/);
    expect(textProblem('\u0085')).to.match(/U\+0085/);
    expect(textProblem('Marie \u202eerucC')).to.match(/text-direction control \(U\+202E\)/);
    expect(textProblem('x\u2066y')).to.match(/U\+2066/);
    expect(textProblem('\ud800')).to.match(/lone UTF-16 surrogate/);
    expect(textProblem('a\udc00b')).to.match(/lone UTF-16 surrogate/);
    expect(textProblem('\uffff')).to.match(/non-character/);
  });

  it('accepts ordinary text of any script, emoji, tabs and line breaks', () => {
    for (const ok of ['Éloïse Ngô', 'محمد', '李雷', '👩🏽‍⚕️ ok', 'line 1\nline 2\ttab\r\n', 'U+FFFD \ufffd is a character']) {
      expect(textProblem(ok), ok).to.equal(null);
    }
  });

  it('walks values and keys at any depth, naming the field', () => {
    expect(textProblems({ items: [{ sender: 'ok' }, { note: 'x\u0000' }] })).to.deep.equal([
      { path: 'items.1.note', message: 'contains a control character (U+0000) that cannot be stored; remove it' },
    ]);
    expect(textProblems({ ['a\u0000']: 1 })[0]).to.include({ path: '(key)' });
    expect(textProblems({ n: 1, b: true, s: null, a: ['fine'] })).to.deep.equal([]);
  });

  it('runs before every schema in parseInput: a 422 naming the field', () => {
    const schema = z.strictObject({ name: z.string().refine(singleLine.check, singleLine.message) });
    const err = (() => {
      try {
        parseInput(schema, { name: 'Lucas\u0000' });
      } catch (e) {
        return e as { code: number; data: { errors: { path: string }[] } };
      }
    })();
    expect(err?.code).to.equal(422);
    expect(err?.data.errors[0].path).to.equal('name');
    expect(() => parseInput(schema, { name: 'two\nlines' })).to.throw(/one line/);
    expect(parseInput(schema, { name: 'Lucas' })).to.deep.equal({ name: 'Lucas' });
  });
});
