import { expect } from 'chai';
import { z } from 'zod';
import { createdId, type RelaisContext } from '../src';

const ctx = (key?: string, action = 'contacts.createPerson') =>
  ({ meta: key ? { idempotencyKey: key } : {}, action: { name: action } }) as unknown as RelaisContext;

describe('createdId', () => {
  it('derives the same id from the same org, action and Idempotency-Key', () => {
    expect(createdId(ctx('k1'), 'org-a')).to.equal(createdId(ctx('k1'), 'org-a'));
  });

  it('differs for another key, org or action, and is random without a key', () => {
    const ids = [createdId(ctx('k1'), 'org-a'), createdId(ctx('k2'), 'org-a'), createdId(ctx('k1'), 'org-b'), createdId(ctx('k1', 'x.create'), 'org-a')];
    expect(new Set(ids).size).to.equal(4);
    expect(createdId(ctx(), 'org-a')).to.not.equal(createdId(ctx(), 'org-a'));
  });

  it('is a well-formed UUID', () => {
    expect(z.uuid().safeParse(createdId(ctx('k1'), 'org-a')).success).to.equal(true);
  });
});
