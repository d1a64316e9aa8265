import type { FieldProblem } from './errors';

/**
 * What no text field of Relais accepts, whatever its schema: characters a database cannot store
 * (PostgreSQL refuses NUL, FerretDB then fails the whole insert) or that alter what a person reads
 * (terminal escapes, bells, text-direction overrides that disguise a name). Tab, newline and
 * carriage return stay allowed here: single-line fields refuse them with `singleLine`.
 */
const REFUSED: { test: RegExp; why: (ch: string) => string }[] = [
  {
    // C0 controls but tab, LF, CR; DEL; C1 controls.
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    test: /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u,
    why: (ch) => `contains a control character (${codePoint(ch)}) that cannot be stored; remove it`,
  },
  {
    // Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
    test: /[\u202a-\u202e\u2066-\u2069]/u,
    why: (ch) => `contains a text-direction control (${codePoint(ch)}) that can disguise text; remove it`,
  },
  {
    test: /[\ufffe\uffff]/u,
    why: (ch) => `contains a non-character (${codePoint(ch)}); remove it`,
  },
];

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a string cannot be accepted as text, or null when it can. */
export function textProblem(value: string): string | null {
  if (LONE_SURROGATE.test(value)) return 'contains an invalid character (a lone UTF-16 surrogate); send valid Unicode text';
  for (const rule of REFUSED) {
    const found = rule.test.exec(value);
    if (found) return rule.why(found[0]);
  }
  return null;
}

const MAX_DEPTH = 32;

/**
 * Every string of an input (values and keys, at any depth) checked by `textProblem`, with the path of
 * the field: the boundary rule every action and gateway route applies before its own schema.
 */
export function textProblems(input: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const walk = (value: unknown, path: string[], depth: number): void => {
    if (problems.length >= 20) return;
    if (typeof value === 'string') {
      const why = textProblem(value);
      if (why) problems.push({ path: path.join('.') || '(body)', message: why });
      return;
    }
    if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...path, String(i)], depth + 1));
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      const why = textProblem(key);
      if (why) problems.push({ path: [...path, '(key)'].join('.'), message: `a field name ${why}` });
      else walk(v, [...path, key], depth + 1);
    }
  };
  walk(input, [], 0);
  return problems;
}

/** For names, labels and other one-line fields: no line breaks or tabs either. */
export const singleLine = {
  check: (value: string) => !/[\t\n\r\u2028\u2029]/.test(value),
  message: 'must be on one line (no line breaks or tabs)',
};
