import { expect } from 'chai';
import { PREVIEWED, deletionRefusal, editRefusal, edited, emptySummary, preview, summaryOf, tombstone } from '../src/domain/exchanges';
import { moveRefusal, moved, portalPostRefusal, requestNumber, type RequestDoc } from '../src/domain/requests';
import { exchangeDoc, requestDoc } from './fixtures';

const at = (iso: string) => new Date(iso);
const MINUTE = 60_000;

const exchange = exchangeDoc;

describe('exchanges: the rules of an exchange (pure)', () => {
  const author = { userId: 'u1', role: 'caseworker' as const };
  const other = { userId: 'u2', role: 'manager' as const };
  const admin = { userId: 'a1', role: 'admin' as const };
  const soon = at('2026-12-01T09:10:00Z');

  it('deletion: its author within the window; never a sent e-mail nor a portal post; an admin always', () => {
    const x = exchange();
    expect(deletionRefusal(x, author, soon, 30 * MINUTE)).to.equal(null);
    expect(deletionRefusal(x, other, soon, 30 * MINUTE)).to.match(/only its author/);
    expect(deletionRefusal(x, author, at('2026-12-01T10:00:00Z'), 30 * MINUTE)).to.match(/within 30 minutes/);
    expect(
      deletionRefusal(exchange({ emailDelivery: { deliveryId: 'd', messageId: '<m@x>', status: 'sent', updatedAt: soon } }), author, soon, 30 * MINUTE),
    ).to.match(/e-mail that was sent/);
    // A failed e-mail never reached anyone: its author may remove it.
    expect(
      deletionRefusal(exchange({ emailDelivery: { deliveryId: 'd', messageId: '<m@x>', status: 'failed', updatedAt: soon } }), author, soon, 30 * MINUTE),
    ).to.equal(null);
    expect(deletionRefusal(exchange({ origin: 'portal', createdBy: 'portal:c1' }), author, soon, 30 * MINUTE)).to.match(/portal/);
    for (const y of [
      x,
      exchange({ origin: 'portal' }),
      exchange({ emailDelivery: { deliveryId: 'd', messageId: '<m@x>', status: 'sent', updatedAt: soon } }),
    ]) {
      expect(deletionRefusal(y, admin, at('2027-06-01T00:00:00Z'), 30 * MINUTE)).to.equal(null);
    }
    const gone = tombstone(x, admin, soon);
    expect(gone.deleted).to.deep.equal({ at: soon, by: 'a1', byAdmin: true });
    expect(deletionRefusal(gone, admin, soon, 30 * MINUTE)).to.match(/already deleted/);
  });

  it('edits keep the previous wording; what was e-mailed or posted by the client stays as it is', () => {
    const x = exchange({ subject: 'RDV', detail: 'Mardi 10h' });
    const y = edited(x, { detail: 'Mardi 11h' }, 'u1', soon);
    expect(y).to.include({ subject: 'RDV', detail: 'Mardi 11h' });
    expect(y.edits).to.deep.equal([
      { at: soon, by: 'u1', previousSubject: 'RDV', previousDetail: 'Mardi 10h', previousType: 'contact', previousVisibility: 'client' },
    ]);
    expect(edited(y, { detail: 'Mardi 11h' }, 'u1', soon)).to.equal(y); // nothing changed, nothing recorded
    expect(editRefusal(x, author)).to.equal(null);
    expect(editRefusal(x, other)).to.match(/only its author/);
    expect(editRefusal(x, admin)).to.equal(null);
    expect(editRefusal(exchange({ origin: 'portal' }), admin)).to.match(/portal/);
    expect(editRefusal(exchange({ origin: 'email', direction: 'received' }), admin)).to.match(/e-mail/);
    expect(editRefusal(exchange({ emailDelivery: { deliveryId: 'd', messageId: '<m@x>', status: 'sent', updatedAt: soon } }), author)).to.match(/e-mail/);
  });

  it('previews: one line, cut on a word boundary with an ellipsis, never longer than the limit', () => {
    expect(preview('Bonjour,\n\n  merci   pour votre retour.')).to.equal('Bonjour, merci pour votre retour.');
    expect(preview('le rendez-vous de mardi est déplacé', 20)).to.equal('le rendez-vous de…');
    expect([...preview('le rendez-vous de mardi est déplacé', 20)].length).to.be.at.most(20);
    expect(preview('anticonstitutionnellement', 10)).to.equal('anticonst…');
    expect(preview('exactement vingt car', 20)).to.equal('exactement vingt car');
  });

  it('the summary counts live exchanges, turns red with a reminder, previews the latest', () => {
    const xs = [
      exchange({ occurredAt: at('2026-12-01T09:00:00Z') }),
      exchange({ occurredAt: at('2026-12-03T09:00:00Z'), type: 'reminder', subject: 'Relance', detail: 'Nous attendons votre devis.' }),
      exchange({ occurredAt: at('2026-12-02T09:00:00Z'), direction: 'received' }),
      exchange({ occurredAt: at('2026-12-04T09:00:00Z') }),
    ];
    const summary = summaryOf(xs);
    // The fixture's exchanges are visible to the client; an internal one is not shown on the portal.
    expect(summary).to.include({ count: 4, reminders: 1, shown: 4 });
    expect(summaryOf([...xs, exchange({ visibility: 'internal' })])).to.include({ count: 5, shown: 4 });
    expect(summary.latest.map((l) => l.id)).to.deep.equal([xs[3]._id, xs[1]._id, xs[2]._id]);
    expect(summary.latest).to.have.length(PREVIEWED);
    expect(summary.latest[1].preview).to.equal('Relance: Nous attendons votre devis.');
    // A deleted reminder no longer counts, nor turns the counter red.
    const recounted = summaryOf(xs.map((x) => (x.type === 'reminder' ? tombstone(x, admin, soon) : x)));
    expect(recounted).to.include({ count: 3, reminders: 0 });
    expect(summaryOf([])).to.deep.equal(emptySummary());
  });
});

describe('exchanges: intervention requests (pure)', () => {
  const request = (more: Partial<RequestDoc> = {}): RequestDoc => ({
    ...requestDoc({
      assignedTo: 'u1',
      team: 'plomberie',
      openedAt: at('2026-11-20T08:00:00Z'),
      createdAt: at('2026-11-20T08:00:00Z'),
      updatedAt: at('2026-11-20T08:00:00Z'),
    }),
    number: 42,
    ...more,
  });

  it('reads its number as DIT-00042', () => {
    expect(requestNumber(42)).to.equal('DIT-00042');
    expect(requestNumber(123456)).to.equal('DIT-123456');
  });

  it('moves open -> done -> closed, may reopen a done one, never a closed one; dates follow', () => {
    const done = moved(request(), 'done', at('2026-12-01T10:00:00Z'));
    expect(done).to.include({ status: 'done' });
    expect(done.doneAt).to.deep.equal(at('2026-12-01T10:00:00Z'));
    const reopened = moved(done, 'open', at('2026-12-02T10:00:00Z'));
    expect(reopened).to.include({ status: 'open', doneAt: null });
    const closed = moved(done, 'closed', at('2026-12-03T10:00:00Z'));
    expect(closed.closedAt).to.deep.equal(at('2026-12-03T10:00:00Z'));
    expect(moveRefusal(closed, 'open')).to.equal('a closed request cannot become open');
    expect(moveRefusal(done, 'open')).to.equal(null);
    expect(moveRefusal(done, 'done')).to.equal(null);
  });

  it('the portal takes posts on an open request, or one done less than N days ago', () => {
    const now = at('2026-12-10T10:00:00Z');
    expect(portalPostRefusal(request(), now, 7)).to.equal(null);
    expect(portalPostRefusal(request({ status: 'done', doneAt: at('2026-12-05T10:00:00Z') }), now, 7)).to.equal(null);
    expect(portalPostRefusal(request({ status: 'done', doneAt: at('2026-12-01T10:00:00Z') }), now, 7)).to.match(/more than 7 days ago/);
    expect(portalPostRefusal(request({ status: 'closed', closedAt: now }), now, 7)).to.match(/closed/);
  });
});
