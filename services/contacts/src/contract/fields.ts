import { z } from 'zod';

/** Free text of a form field: trimmed, inner runs of spaces (line breaks, tabs) made one. Control characters are refused by the boundary rule on text (shared). */
export const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === null ? 'cannot be empty' : undefined) })
    .overwrite((s) => s.trim().replace(/\s+/g, ' '))
    .min(1, 'cannot be empty')
    .max(max, `must be at most ${max} characters`);
