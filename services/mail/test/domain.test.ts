import { expect } from 'chai';
import { newMailItem, pendingCounts } from '../src/domain/mail';

const auth = { orgId: 'org-1', userId: 'user-1', role: 'agent' as const };
const ids = { itemId: '6f1c8d7e-52d4-4e0b-9a59-0d8f3e9c1a11', eventId: '0b7f7f55-4b8e-4a7e-bb3c-6a3c3b1f0e22' };
const person = '2c1f4a36-9f0a-4c55-8c57-2a9f1b5f7d33';

describe('mail domain', () => {
  it('a new item carries its mail.registered event with the same facts', () => {
    const now = new Date('2026-03-02T09:30:00Z');
    const doc = newMailItem({ personId: person, kind: 'parcel', quantity: 2, sender: 'CAF' }, auth, ids, now);
    expect(doc).to.include({ _id: ids.itemId, orgId: 'org-1', status: 'pending', quantity: 2, outboxPending: true });
    expect(doc.idempotencyKey).to.equal(ids.itemId);
    expect(doc.outbox).to.have.length(1);
    expect(doc.outbox[0]).to.deep.include({ id: ids.eventId, type: 'mail.registered', orgId: 'org-1' });
    expect(doc.outbox[0].data).to.deep.equal({
      mailItemId: ids.itemId,
      personId: person,
      kind: 'parcel',
      quantity: 2,
      registeredAt: now.toISOString(),
      registeredBy: 'user-1',
    });
  });

  it('keeps the Idempotency-Key of the request', () => {
    const doc = newMailItem({ personId: person, kind: 'letter', quantity: 1 }, auth, ids, new Date(), 'key-1');
    expect(doc.idempotencyKey).to.equal('key-1');
  });

  it('counts pending quantities per kind, ignoring handed-over items', () => {
    expect(
      pendingCounts([
        { kind: 'letter', quantity: 3, status: 'pending' },
        { kind: 'parcel', quantity: 2, status: 'pending' },
        { kind: 'letter', quantity: 1, status: 'handedOver' },
      ]),
    ).to.deep.equal({ letter: 3, parcel: 2, deliveryNotice: 0 });
  });
});
