import { expect } from 'chai';
import { DEFAULT_SEND_DAYS, isTooLate, nextSlot, previousSlot, reminderAt } from '../src/planning/slots';
import { smsSize } from '../src/delivery/sms';
import { DEFAULT_TEMPLATES, compileTemplate, templateProblem } from '../src/settings/templates';
import { STATUS_RANK, finalChange, withChange, type DeliveryDoc } from '../src/delivery/status';

const utc = (s: string) => new Date(s);
const iso = (d: Date) => d.toISOString();

describe('send slots (Tuesday and Thursday, 19:00 in the org zone)', () => {
  it('seed 001: mail on Monday goes out Tuesday 19:00 Paris', () => {
    expect(iso(nextSlot(utc('2026-06-15T09:00:00Z'), DEFAULT_SEND_DAYS, 'Europe/Paris'))).to.equal('2026-06-16T17:00:00.000Z');
  });

  it('keeps 19:00 local across the March DST change in Paris', () => {
    // Tuesday 24 March is winter time (UTC+1); Tuesday 31 March summer time (UTC+2).
    expect(iso(nextSlot(utc('2026-03-23T12:00:00Z'), DEFAULT_SEND_DAYS, 'Europe/Paris'))).to.equal('2026-03-24T18:00:00.000Z');
    expect(iso(nextSlot(utc('2026-03-26T18:00:00Z'), DEFAULT_SEND_DAYS, 'Europe/Paris'))).to.equal('2026-03-31T17:00:00.000Z');
  });

  it('keeps 19:00 local across the October DST change in Paris', () => {
    expect(iso(nextSlot(utc('2026-10-21T12:00:00Z'), DEFAULT_SEND_DAYS, 'Europe/Paris'))).to.equal('2026-10-22T17:00:00.000Z');
    expect(iso(nextSlot(utc('2026-10-22T17:00:00Z'), DEFAULT_SEND_DAYS, 'Europe/Paris'))).to.equal('2026-10-27T18:00:00.000Z');
  });

  it('uses Réunion and Martinique time and their own weekday', () => {
    // 19:00 in Réunion (UTC+4) is 15:00Z.
    expect(iso(nextSlot(utc('2026-06-16T14:00:00Z'), DEFAULT_SEND_DAYS, 'Indian/Reunion'))).to.equal('2026-06-16T15:00:00.000Z');
    // Tuesday 22:00Z is already Wednesday in Paris, but still Tuesday 18:00 in Martinique (UTC-4): slot 23:00Z.
    expect(iso(nextSlot(utc('2026-06-16T22:00:00Z'), DEFAULT_SEND_DAYS, 'America/Martinique'))).to.equal('2026-06-16T23:00:00.000Z');
  });

  it('finds the previous slot (the cut-off of the window)', () => {
    expect(iso(previousSlot(utc('2026-06-18T16:59:59Z'), DEFAULT_SEND_DAYS, 'Europe/Paris'))).to.equal('2026-06-16T17:00:00.000Z');
    expect(iso(previousSlot(utc('2026-06-18T17:00:00Z'), DEFAULT_SEND_DAYS, 'Europe/Paris'))).to.equal('2026-06-18T17:00:00.000Z');
  });

  it('honours other send days', () => {
    expect(iso(nextSlot(utc('2026-06-15T09:00:00Z'), [5], 'Europe/Paris'))).to.equal('2026-06-19T17:00:00.000Z');
  });
});

describe('end-of-domiciliation reminder (19:00 local, two months before)', () => {
  it('31 May -> 31 March, 30 April -> 28 February, 29 April 2028 -> 29 February (leap year)', () => {
    expect(iso(reminderAt('2027-05-31', 'Europe/Paris'))).to.equal('2027-03-31T17:00:00.000Z');
    expect(iso(reminderAt('2027-04-30', 'Europe/Paris'))).to.equal('2027-02-28T18:00:00.000Z');
    expect(iso(reminderAt('2028-04-29', 'Europe/Paris'))).to.equal('2028-02-29T18:00:00.000Z');
  });

  it('gives every end date of a year one reminder, 59 to 62 days before it, at 19:00 Paris', () => {
    for (let d = new Date('2027-01-01T12:00:00Z'); d.getUTCFullYear() === 2027; d = new Date(d.getTime() + 86_400_000)) {
      const endDate = d.toISOString().slice(0, 10);
      const at = reminderAt(endDate, 'Europe/Paris');
      const days = (Date.parse(`${endDate}T19:00:00Z`) - at.getTime()) / 86_400_000;
      expect(days, endDate).to.be.within(58.9, 62.1);
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' }).format(at)).to.equal('19');
    }
  });

  it('is late only beyond the allowed lateness', () => {
    expect(isTooLate(utc('2026-06-16T17:00:00Z'), utc('2026-06-16T18:00:00Z'), 2 * 3600_000)).to.equal(false);
    expect(isTooLate(utc('2026-06-16T17:00:00Z'), utc('2026-06-16T20:00:01Z'), 2 * 3600_000)).to.equal(true);
  });
});

describe('SMS size', () => {
  it('counts GSM-7 texts in septets, extension characters twice', () => {
    expect(smsSize('Bonjour à vous')).to.deep.equal({ encoding: 'GSM-7', characters: 14, units: 14, segments: 1 });
    expect(smsSize('€5')).to.include({ encoding: 'GSM-7', units: 3 });
    expect(smsSize('a'.repeat(160)).segments).to.equal(1);
    expect(smsSize('a'.repeat(161)).segments).to.equal(2);
  });

  it('switches to UCS-2 for a character outside GSM-7 (the ç of "reçu")', () => {
    expect(smsSize('Vous avez reçu')).to.include({ encoding: 'UCS-2', segments: 1 });
    expect(smsSize('ç'.repeat(71)).segments).to.equal(2);
    expect(smsSize('🙂').units).to.equal(2);
  });
});

describe('templates', () => {
  const render = (kind: keyof typeof DEFAULT_TEMPLATES, vars: object) => compileTemplate(DEFAULT_TEMPLATES[kind])({ ...vars });

  it('renders the seed texts with French plurals', () => {
    expect(render('mail.letter', { count: 1, signature: 'CCAS' })).to.equal('Bonjour, Vous avez reçu 1 nouveau courrier CCAS');
    expect(render('mail.deliveryNotice', { count: 2, signature: 'CCAS' })).to.equal('Bonjour, Vous avez reçu 2 nouveaux avis de passage CCAS');
    expect(render('mail.letter', { count: 3, signature: 'CCAS' })).to.equal('Bonjour, Vous avez reçu 3 nouveaux courriers CCAS');
    expect(render('mail.parcel', { count: 0, signature: 'CCAS' })).to.equal('Bonjour, Vous avez reçu 0 nouveau colis CCAS');
  });

  it('refuses a template that uses an unknown variable, naming the ones available', () => {
    expect(templateProblem('mail.letter', 'Bonjour {{prenom}}')).to.match(/\{\{count\}\}, \{\{signature\}\}/);
    expect(templateProblem('mail.letter', 'Bonjour {{#if}}')).to.match(/does not render/);
    expect(templateProblem('mail.letter', DEFAULT_TEMPLATES['mail.letter'])).to.equal(null);
  });
});

describe('final outcomes of an attempt', () => {
  const startedAt = new Date('2026-06-16T17:00:01Z');
  const at = new Date('2026-06-16T17:00:03Z');
  const row = (status: DeliveryDoc['status']): DeliveryDoc => ({
    _id: 'd1',
    orgId: 'o',
    personId: 'p',
    type: 'mail.letter',
    channel: 'sms',
    to: '+33611000001',
    from: 'CCAS',
    content: 'Bonjour',
    encoding: 'GSM-7',
    segments: 1,
    status,
    statusRank: STATUS_RANK[status],
    events: [{ status: 'pending', at: startedAt }],
    dueAt: startedAt,
    lot: 'l',
    attempts: 0,
    retryAt: null,
    createdAt: startedAt,
    updatedAt: startedAt,
  });

  it('an accepted message moves a pending delivery to queued, with the attempt and both events', () => {
    const change = finalChange({ id: 'd1', kind: 'accepted', status: 'queued', provider: 'twilio', providerId: 'SM1' }, { attempt: 2, startedAt }, at);
    const after = withChange(row('pending'), change, at);
    expect(after).to.include({ status: 'queued', statusRank: STATUS_RANK.queued, provider: 'twilio', attempts: 2, updatedAt: at });
    expect(after.events).to.deep.equal([
      { status: 'pending', at: startedAt },
      { status: 'sending', at: startedAt, detail: 'attempt 2' },
      { status: 'queued', at },
    ]);
  });

  it('never moves a delivery back: one already delivered stays as it is', () => {
    const change = finalChange(
      { id: 'd1', kind: 'failed', error: { code: '21211', message: 'invalid number', transient: false } },
      { attempt: 1, startedAt },
      at,
    );
    const delivered = row('delivered');
    expect(withChange(delivered, change, at)).to.equal(delivered);
    expect(withChange(row('sending'), change, at)).to.deep.include({ status: 'failed', error: { code: '21211', message: 'invalid number', transient: false } });
  });

  it('a skipped delivery keeps its reason', () => {
    const change = finalChange({ id: 'd1', kind: 'closed', status: 'skipped', reason: 'no mobile number at send time' }, { attempt: 1, startedAt }, at);
    expect(withChange(row('pending'), change, at)).to.include({ status: 'skipped', reason: 'no mobile number at send time' });
  });
});
