import { expect } from 'chai';
import type { Outcome } from '../src/domain/channels';

/** The accepted outcome, or the test fails with the refusal's message. */
export const must = <T>(r: Outcome<T>) => {
  if (!r.ok) return expect.fail(`refused: ${r.problem.code}: ${r.problem.message}`);
  return r;
};

/** The refusal's problem, or the test fails because it was accepted. */
export const problem = (r: Outcome<unknown>) => {
  if (r.ok) return expect.fail('accepted');
  return r.problem;
};
