import { expect } from 'chai';
import { handOverEvent, newMailItem, pendingCounts, selectForHandOver } from '../src/domain/mail';

const auth = { orgId: 'org-1', userId: 'user-1', role: 'agent' as const };
const ids = { itemId: '6f1c8d7e-52d4-4e0b-9a59-0d8f3e9c1a11', eventId: '0b7f7f55-4b8e-4a7e-bb3c-6a3c3b1f0e22' };
const person = '2c1f4a36-9f0a-4c55-8c57-2a9f1b5f7d33';

describe('mail domain', () => {
  it('a new item comes with its mail.registered event, with the same facts, and holds its id', () => {
    const now = new Date('2026-03-02T09:30:00Z');
    const { doc, event } = newMailItem({ personId: person, kind: 'parcel', quantity: 2, sender: 'CAF' }, auth, ids, now);
    expect(doc).to.include({ _id: ids.itemId, orgId: 'org-1', status: 'pending', quantity: 2 });
    expect(doc.idempotencyKey).to.equal(ids.itemId);
    expect(doc.eventIds).to.deep.equal([ids.eventId]);
    expect(event).to.deep.include({ id: ids.eventId, type: 'mail.registered', orgId: 'org-1' });
    expect(event.data).to.deep.equal({
      mailItemId: ids.itemId,
      personId: person,
      kind: 'parcel',
      quantity: 2,
      registeredAt: now.toISOString(),
      registeredBy: 'user-1',
    });
  });

  it('keeps the Idempotency-Key of the request', () => {
    const { doc } = newMailItem({ personId: person, kind: 'letter', quantity: 1 }, auth, ids, new Date(), 'key-1');
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

describe('hand-over selection', () => {
  const pending = [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }];

  it('takes every pending item when none is named', () => {
    expect(selectForHandOver(pending, undefined)).to.deep.equal({ ok: true, ids: ['a', 'b', 'c'] });
  });

  it('takes the named pending items once each', () => {
    expect(selectForHandOver(pending, ['b', 'b', 'a'])).to.deep.equal({ ok: true, ids: ['b', 'a'] });
  });

  it('names the items that are not pending for the person', () => {
    expect(selectForHandOver(pending, ['a', 'z'])).to.deep.equal({ ok: false, unknown: ['z'] });
  });

  it('builds one mail.handedOver event for a group of items', () => {
    const at = new Date('2026-03-03T10:00:00Z');
    const ev = handOverEvent(auth, person, ['a', 'b'], { at, by: 'user-1', to: 'proxy', proxyName: 'M. Curie' }, ids.eventId);
    expect(ev).to.deep.include({ id: ids.eventId, type: 'mail.handedOver', orgId: 'org-1', occurredAt: at.toISOString() });
    expect(ev.data).to.deep.equal({ personId: person, mailItemIds: ['a', 'b'], handedOverAt: at.toISOString(), handedOverBy: 'user-1' });
  });
});
