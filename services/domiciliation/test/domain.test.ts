import { expect } from 'chai';
import {
  activeStatus,
  dayAfter,
  domiciliationChange,
  newDomiciliation,
  NO_CONSENT,
  transition,
  type Command,
  type DomiciliationState,
} from '../src/domain/domiciliation';
import { smsConsentChange } from '../src/domain/smsConsent';

const actor = { orgId: 'org-1', userId: 'user-1' };
const person = '2c1f4a36-9f0a-4c55-8c57-2a9f1b5f7d33';
const at = new Date('2026-03-02T09:30:00Z');

/** Runs commands from nothing and returns the last state. */
function after(...commands: Command[]): DomiciliationState {
  let state: DomiciliationState | null = null;
  for (const c of commands) state = transition(state, c).next;
  return state!;
}

const rejects = (fn: () => unknown, code: number, message?: RegExp) => {
  try {
    fn();
  } catch (err) {
    const e = err as { code: number; message: string; data?: { errors?: { path: string }[] } };
    expect(e.code, e.message).to.equal(code);
    if (message) expect(e.message).to.match(message);
    return e;
  }
  return expect.fail('expected an error');
};

const requested: Command = { action: 'request' };
const activated: Command = { action: 'activate', startDate: '2025-01-01', endDate: '2025-12-31' };

describe('domiciliation state machine', () => {
  it('a request creates a requested domiciliation with its history line', () => {
    const t = transition(null, requested);
    expect(t.next).to.deep.equal({ status: 'requested', periods: [], refusalReason: null });
    expect(t.changes).to.deep.equal([{ field: 'status', from: null, to: 'requested' }]);
  });

  it('request -> activate -> renew keeps the earlier period -> end', () => {
    const active = after(requested, activated);
    expect(active).to.deep.include({ status: 'active', periods: [{ startDate: '2025-01-01', endDate: '2025-12-31' }] });

    const renewed = transition(active, { action: 'renew', endDate: '2026-12-31' });
    expect(renewed.next.periods).to.deep.equal([
      { startDate: '2025-01-01', endDate: '2025-12-31' },
      { startDate: '2026-01-01', endDate: '2026-12-31' },
    ]);
    expect(renewed.changes).to.deep.equal([
      { field: 'startDate', from: '2025-01-01', to: '2026-01-01' },
      { field: 'endDate', from: '2025-12-31', to: '2026-12-31' },
    ]);

    const ended = transition(renewed.next, { action: 'end', endDate: '2026-06-15' });
    expect(ended.next.status).to.equal('ended');
    expect(ended.next.periods).to.have.length(2);
    expect(ended.next.periods[1]).to.deep.equal({ startDate: '2026-01-01', endDate: '2026-06-15' });
    expect(ended.changes).to.deep.equal([
      { field: 'status', from: 'active', to: 'ended' },
      { field: 'endDate', from: '2026-12-31', to: '2026-06-15' },
    ]);
  });

  it('renews an ended domiciliation from the day after its end, or from a later given day', () => {
    const ended = after(requested, activated, { action: 'end', endDate: '2025-06-30' });
    expect(transition(ended, { action: 'renew', endDate: '2026-06-30' }).next.periods[1]).to.deep.equal({
      startDate: '2025-07-01',
      endDate: '2026-06-30',
    });
    expect(transition(ended, { action: 'renew', startDate: '2025-09-01', endDate: '2026-08-31' }).next.status).to.equal('active');
  });

  it('refuses a renewal overlapping the previous period (422 on startDate)', () => {
    const active = after(requested, activated);
    const e = rejects(() => transition(active, { action: 'renew', startDate: '2025-12-31', endDate: '2026-12-31' }), 422, /cannot overlap/);
    expect(e.data?.errors?.[0].path).to.equal('startDate');
  });

  it('refuses a period that does not end after it starts (422 on endDate)', () => {
    const e = rejects(() => after(requested, { action: 'activate', startDate: '2025-01-01', endDate: '2025-01-01' }), 422);
    expect(e.data?.errors?.[0].path).to.equal('endDate');
    rejects(() => after(requested, activated, { action: 'renew', startDate: '2026-02-01', endDate: '2026-01-15' }), 422);
    rejects(() => after(requested, activated, { action: 'changeEndDate', endDate: '2024-12-31' }), 422, /after the start date 2025-01-01/);
  });

  it('changes the end date of the current period only; the same date again changes nothing', () => {
    const active = after(requested, activated, { action: 'renew', endDate: '2026-12-31' });
    const t = transition(active, { action: 'changeEndDate', endDate: '2027-03-31' });
    expect(t.next.periods.map((p) => p.endDate)).to.deep.equal(['2025-12-31', '2027-03-31']);
    const same = transition(t.next, { action: 'changeEndDate', endDate: '2027-03-31' });
    expect(same.changes).to.deep.equal([]);
    expect(domiciliationChange({ _id: 'd', personId: person }, same, 'e', actor, at)).to.equal(null);
  });

  it('ending before a renewal has started drops that renewal; a date outside every period is refused', () => {
    const renewedEarly = after(requested, activated, { action: 'renew', endDate: '2026-12-31' });
    const ended = transition(renewedEarly, { action: 'end', endDate: '2025-10-15' }).next;
    expect(ended.periods).to.deep.equal([{ startDate: '2025-01-01', endDate: '2025-10-15' }]);
    rejects(() => transition(renewedEarly, { action: 'end', endDate: '2027-01-01' }), 422, /to extend it, change the end date or renew/);
  });

  it('refuses with 409 what a status does not allow, naming what is allowed', () => {
    const active = after(requested, activated);
    rejects(() => transition(active, activated), 409, /An active domiciliation cannot be activated; allowed now: renew, change the end date, end\./);
    rejects(() => transition(after(requested), { action: 'renew', endDate: '2026-01-01' }), 409, /allowed now: activate, refuse/);
    rejects(() => transition(active, requested), 409, /already has a domiciliation \(active\)/);
    const refusedState = after(requested, { action: 'refuse', reason: 'no local tie' });
    rejects(() => transition(refusedState, { action: 'end', endDate: '2025-01-01' }), 409, /allowed now: request it again/);
    rejects(() => transition(after(requested, activated, { action: 'end', endDate: '2025-05-01' }), { action: 'refuse' }), 409, /allowed now: renew/);
  });

  it('answers 404 for any change but a request when there is no domiciliation', () => {
    rejects(() => transition(null, activated), 404, /request one first/);
  });

  it('a refused domiciliation may be requested again, clearing the refusal reason (kept in history)', () => {
    const refusedState = after(requested, { action: 'refuse', reason: 'no local tie' });
    expect(refusedState.refusalReason).to.equal('no local tie');
    const again = transition(refusedState, requested);
    expect(again.next).to.deep.equal({ status: 'requested', periods: [], refusalReason: null });
    expect(again.changes).to.deep.include({ field: 'refusalReason', from: 'no local tie', to: null });
  });

  it('a new domiciliation carries its history and the id of its domiciliation.changed event', () => {
    const { doc, events } = newDomiciliation(person, transition(null, requested), { domiciliationId: 'dom-1', eventId: 'ev-1' }, actor, at);
    expect(doc).to.deep.include({ _id: 'dom-1', orgId: 'org-1', personId: person, status: 'requested', version: 1, eventIds: ['ev-1'] });
    expect(doc.history).to.deep.equal([{ at, by: 'user-1', action: 'request', field: 'status', from: null, to: 'requested' }]);
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ id: 'ev-1', type: 'domiciliation.changed', orgId: 'org-1' });
    expect(events[0].data).to.deep.equal({
      domiciliationId: 'dom-1',
      personId: person,
      status: 'requested',
      startDate: null,
      endDate: null,
      changedAt: at.toISOString(),
      changedBy: 'user-1',
    });
  });

  it('a change publishes the current period dates', () => {
    const t = transition(after(requested), activated);
    const change = domiciliationChange({ _id: 'dom-1', personId: person }, t, 'ev-2', actor, at)!;
    expect(change.events[0].data).to.deep.include({ status: 'active', startDate: '2025-01-01', endDate: '2025-12-31' });
    expect(change.history.map((h) => h.field)).to.deep.equal(['status', 'startDate', 'endDate']);
  });
});

describe('dates in the org calendar', () => {
  it('the day after crosses months and leap days', () => {
    expect(dayAfter('2024-02-28')).to.equal('2024-02-29');
    expect(dayAfter('2025-12-31')).to.equal('2026-01-01');
  });

  it('active means status active and today inside a period', () => {
    const active = after(requested, activated);
    expect(activeStatus(person, null, '2025-06-01')).to.deep.equal({ personId: person, active: false, status: null, startDate: null, endDate: null });
    expect(activeStatus(person, active, '2025-06-01')).to.deep.equal({
      personId: person,
      active: true,
      status: 'active',
      startDate: '2025-01-01',
      endDate: '2025-12-31',
    });
    expect(activeStatus(person, active, '2026-01-01').active).to.equal(false);
    expect(activeStatus(person, active, '2024-12-31').active).to.equal(false);
    // Renewed early: still active in the earlier period; the dates shown are the new period's.
    const renewed = transition(active, { action: 'renew', endDate: '2026-12-31' }).next;
    expect(activeStatus(person, renewed, '2025-06-01')).to.deep.include({ active: true, startDate: '2026-01-01', endDate: '2026-12-31' });
    const ended = transition(active, { action: 'end', endDate: '2025-06-30' }).next;
    expect(activeStatus(person, ended, '2025-06-01')).to.deep.include({ active: false, status: 'ended' });
  });
});

describe('SMS consent', () => {
  const phone = { e164: '+262692010203', region: 'RE', raw: '+262 692 01 02 03' };
  const doc = { personId: person, smsConsent: { ...NO_CONSENT } };

  it('yes with a mobile number records both changes and publishes the number', () => {
    const change = smsConsentChange(doc, { consent: true, phone }, 'ev-1', actor, at)!;
    expect(change.set.smsConsent).to.deep.equal({
      consent: true,
      phoneE164: '+262692010203',
      phoneRaw: '+262 692 01 02 03',
      region: 'RE',
      changedAt: at,
      changedBy: 'user-1',
    });
    expect(change.history).to.deep.equal([
      { at, by: 'user-1', action: 'setSmsConsent', field: 'smsConsent', from: false, to: true },
      { at, by: 'user-1', action: 'setSmsConsent', field: 'smsPhone', from: null, to: '+262692010203' },
    ]);
    expect(change.events[0]).to.deep.include({ id: 'ev-1', type: 'domiciliation.smsConsentChanged' });
    expect(change.events[0].data).to.deep.include({ personId: person, consent: true, phoneE164: '+262692010203', region: 'RE' });
  });

  it('the same number typed differently changes nothing; withdrawing forgets the number', () => {
    const given = { personId: person, smsConsent: smsConsentChange(doc, { consent: true, phone }, 'ev-1', actor, at)!.set.smsConsent! };
    expect(smsConsentChange(given, { consent: true, phone: { ...phone, raw: '0692010203' } }, 'ev-2', actor, at)).to.equal(null);
    const withdrawn = smsConsentChange(given, { consent: false }, 'ev-3', actor, at)!;
    expect(withdrawn.set.smsConsent).to.deep.include({ consent: false, phoneE164: null, phoneRaw: null, region: null });
    expect(withdrawn.history.map((h) => [h.field, h.from, h.to])).to.deep.equal([
      ['smsConsent', true, false],
      ['smsPhone', '+262692010203', null],
    ]);
    expect(withdrawn.events[0].data).to.deep.include({ consent: false, phoneE164: null, region: null });
  });

  it('a new number alone is one history line', () => {
    const given = { personId: person, smsConsent: smsConsentChange(doc, { consent: true, phone }, 'ev-1', actor, at)!.set.smsConsent! };
    const moved = smsConsentChange(given, { consent: true, phone: { e164: '+33612345678', region: 'FR', raw: '06 12 34 56 78' } }, 'ev-4', actor, at)!;
    expect(moved.history.map((h) => [h.field, h.from, h.to])).to.deep.equal([['smsPhone', '+262692010203', '+33612345678']]);
  });
});
