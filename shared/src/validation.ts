import { z } from 'zod';
import { validationError, type FieldProblem } from './errors';
import { textProblems } from './text';

/** Turns zod issues into messages a person can act on, with the path of the field. */
export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return { path, message: `unknown field(s): ${issue.keys.join(', ')}` };
    }
    return { path: path || '(body)', message: issue.message };
  });
}

const summaryOf = (problems: FieldProblem[]) => problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');

/**
 * Validates an input: first the boundary rule on text (no string anywhere holds what cannot be
 * stored or disguises text, see text.ts), then the schema. Every action and gateway route goes through here.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const textIssues = textProblems(input);
  if (textIssues.length > 0) throw validationError(`Invalid input: ${summaryOf(textIssues)}`, textIssues);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = fieldProblems(result.error);
  const summary = summaryOf(problems);
  throw validationError(`Invalid input: ${summary}`, problems);
}

/** zod's type names as a person reads them. */
const TYPE_WORDS: Record<string, string> = {
  int: 'an integer',
  object: 'an object',
  array: 'a list',
  string: 'a text (string)',
  number: 'a number',
  boolean: 'true or false',
};

// Clearer wording than the defaults for the two most common mistakes.
z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
    if (issue.code === 'invalid_type') return `must be ${TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`}`;
    return undefined;
  },
});
