import { expect } from 'chai';
import type { MailKind } from '@relais/shared';
import { digestDeliveries, notDomiciled, type Sending } from '../src/planning/deliveries';
import { localDate } from '../src/planning/slots';

describe('digest: people no longer domiciled', () => {
  it('no digest once the domiciliation has ended (or its end date passed), was refused or never activated', () => {
    expect(notDomiciled({ status: 'ended', endDate: '2027-03-08' }, '2027-03-09')).to.equal('the domiciliation has ended');
    // Ended today with an end date still to come: the person no longer collects mail here from now on.
    expect(notDomiciled({ status: 'ended', endDate: '2027-03-20' }, '2027-03-09')).to.equal('the domiciliation has ended');
    expect(notDomiciled({ status: 'refused', endDate: null }, '2027-03-09')).to.equal('the domiciliation was refused');
    expect(notDomiciled({ status: 'requested', endDate: null }, '2027-03-09')).to.equal('the domiciliation has not been activated');
    expect(notDomiciled({ status: 'active', endDate: '2027-03-08' }, '2027-03-09')).to.equal('the domiciliation ended on 2027-03-08');
  });

  it('a digest while the domiciliation is active, its last day included, or not known here', () => {
    expect(notDomiciled({ status: 'active', endDate: '2027-03-09' }, '2027-03-09')).to.equal(null);
    expect(notDomiciled({ status: 'active', endDate: '2028-03-09' }, '2027-03-09')).to.equal(null);
    expect(notDomiciled(undefined, '2027-03-09')).to.equal(null);
  });

  it("the slot's day is the org's: Tuesday 19:00 in Martinique is Wednesday in Paris and UTC", () => {
    expect(localDate(new Date('2027-03-09T23:00:00Z'), 'America/Martinique')).to.equal('2027-03-09');
    expect(localDate(new Date('2027-03-09T23:00:00Z'), 'Europe/Paris')).to.equal('2027-03-10');
  });

  it('skips the SMS of a person not domiciled with the reason, after a cancellation for mail handed over', () => {
    const slot = new Date('2027-03-09T18:00:00Z');
    const s: Sending = { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS', render: () => 'Bonjour', now: slot, maxLatenessMs: 3600_000 };
    const counts = new Map<string, Map<MailKind, number>>([
      [
        'ended',
        new Map<MailKind, number>([
          ['letter', 1],
          ['parcel', 0],
        ]),
      ],
      ['active', new Map<MailKind, number>([['letter', 2]])],
    ]);
    const phone = { consent: true, phoneE164: '+33612345678' };
    const docs = digestDeliveries(
      'o',
      slot,
      counts,
      new Map([
        ['ended', phone],
        ['active', phone],
      ]),
      s,
      new Map([['ended', 'the domiciliation has ended']]),
    );
    const of = (person: string, kind: MailKind) => docs.find((d) => d._id === `digest:${person}:${slot.toISOString()}:${kind}`)!;
    expect(of('ended', 'letter')).to.include({ status: 'skipped', reason: 'the domiciliation has ended', to: null });
    expect(of('ended', 'parcel')).to.include({ status: 'cancelled' });
    expect(of('active', 'letter')).to.include({ status: 'pending', to: '+33612345678', count: 2 });
  });
});
