import { expect } from 'chai';
import {
  DELIVERY_KIND_LABELS,
  contactDelivery,
  contactEmailDelivery,
  followsConsent,
  signedEmail,
  signedText,
  staffEmailDelivery,
} from '../src/planning/deliveries';
import { contactDeliveryId } from '../src/api';
import { noticeRecipients } from '../src/staff/useCases';
import { STATUS_RANK, acceptedStatus, finalChange, withChange } from '../src/delivery/status';
import { sendItem } from '../src/delivery/lot';
import { outcomeError, outcomeEvent, outcomeEventId, outcomeStatus } from '../src/delivery/outcomes';

const orgId = '5d0a5c1e-2f7b-4f3e-9c61-0c6f1a2b3c4d';
const ref = '9b2c7e1a-4d5f-4a6b-8c9d-0e1f2a3b4c5d';
const personId = '0f1e2d3c-4b5a-4968-8776-655443322110';
const now = new Date('2026-06-16T10:00:00Z');

describe('contact SMS (pure)', () => {
  it('is one delivery per (org, contact action), due now, to the number given, with the text as written and the signature', () => {
    const doc = contactDelivery(
      orgId,
      { personId, to: '+33612345678', text: 'Merci de rappeler le CCAS.', ref },
      { senderId: 'CCAS', signature: 'CCAS de Saint-Denis' },
      now,
    );
    expect(doc).to.include({
      _id: contactDeliveryId(orgId, ref),
      orgId,
      personId,
      type: 'contact.sms',
      ref,
      to: '+33612345678',
      from: 'CCAS',
      content: 'Merci de rappeler le CCAS. CCAS de Saint-Denis',
      encoding: 'GSM-7',
      segments: 1,
      status: 'pending',
      statusRank: 0,
      dueAt: now,
    });
    expect(doc.events).to.deep.equal([{ status: 'pending', at: now }]);
    expect(doc).not.to.have.property('eventIds');
    expect(contactDeliveryId(orgId, ref)).to.equal(`contact:${orgId}:${ref}`);
    expect(sendItem(doc)).to.include({ type: 'contact.sms', to: '+33612345678' });
  });

  it('signs the text unless it already ends with the signature, and keeps its line breaks', () => {
    expect(signedText('Bonjour,\nvotre dossier est prêt.', 'CCAS')).to.equal('Bonjour,\nvotre dossier est prêt. CCAS');
    expect(signedText('Bonjour. CCAS', 'CCAS')).to.equal('Bonjour. CCAS');
    expect(signedText('Bonjour.', null)).to.equal('Bonjour.');
    expect(signedText('Bonjour.', '  ')).to.equal('Bonjour.');
  });

  it('follows the SMS consent for the notifications Relais sends, not for a contact SMS', () => {
    expect(followsConsent('contact.sms')).to.equal(false);
    expect(followsConsent('mail.letter')).to.equal(true);
    expect(followsConsent('domiciliation.reminder')).to.equal(true);
    expect(followsConsent(undefined)).to.equal(true); // a payload written before kinds were carried
  });

  it('has a label in the history', () => {
    expect(DELIVERY_KIND_LABELS['contact.sms']).to.equal('SMS envoyé depuis le dossier');
    expect(DELIVERY_KIND_LABELS['mail.letter']).to.equal('Courrier enregistré');
  });
});

describe('delivery.outcome (pure)', () => {
  const at = new Date('2026-06-16T10:00:05Z');
  const doc = contactDelivery(orgId, { personId, to: '+33612345678', text: 'Bonjour', ref }, { senderId: 'CCAS', signature: null }, now);

  it('maps Twilio 21614 and 30006 to notAMobile (permanent), other permanent errors to other, transient ones to not permanent', () => {
    expect(outcomeError({ code: '21614', transient: false })).to.deep.equal({ code: '21614', kind: 'notAMobile', permanent: true });
    expect(outcomeError({ code: '30006', transient: false })).to.deep.equal({ code: '30006', kind: 'notAMobile', permanent: true });
    expect(outcomeError({ code: '21211', transient: false })).to.deep.equal({ code: '21211', kind: 'other', permanent: true });
    expect(outcomeError({ code: '20429', transient: true })).to.deep.equal({ code: '20429', kind: 'other', permanent: false });
    // Carrier reports that may pass (handset switched off), and a failure without an error.
    expect(outcomeError({ code: '30003', transient: false })).to.deep.equal({ code: '30003', kind: 'other', permanent: false });
    expect(outcomeError(undefined)).to.deep.equal({ code: null, kind: 'other', permanent: false });
  });

  it('is published for the final provider statuses only', () => {
    expect(outcomeStatus('delivered')).to.equal('delivered');
    expect(outcomeStatus('failed')).to.equal('failed');
    expect(outcomeStatus('undelivered')).to.equal('failed');
    for (const s of ['pending', 'sending', 'queued', 'sent', 'skipped', 'cancelled'] as const) expect(outcomeStatus(s), s).to.equal(null);
    expect(outcomeEvent(doc, 'sent', undefined, at)).to.equal(null);
    expect(outcomeEvent(doc, 'skipped', undefined, at)).to.equal(null);
    expect(outcomeEvent({ ...doc, to: null }, 'failed', undefined, at)).to.equal(null);
  });

  it('carries the delivery, its number, kind and contact action, with one id per delivery', () => {
    const delivered = outcomeEvent(doc, 'delivered', undefined, at)!;
    expect(delivered).to.deep.include({ type: 'delivery.outcome', orgId, id: outcomeEventId(doc._id), occurredAt: at.toISOString() });
    expect(delivered.data).to.deep.equal({
      deliveryId: doc._id,
      personId,
      medium: 'sms',
      to: '+33612345678',
      type: 'contact.sms',
      ref,
      status: 'delivered',
      error: null,
      occurredAt: at.toISOString(),
    });
    const failed = outcomeEvent(doc, 'undelivered', { code: '30006', transient: false }, at)!;
    expect(failed.id).to.equal(delivered.id); // one final status per delivery, so one event id
    expect(failed.data).to.deep.include({ status: 'failed', error: { code: '30006', kind: 'notAMobile', permanent: true } });
    expect(outcomeEventId('digest:p:s:letter')).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(outcomeEventId('digest:p:s:letter')).not.to.equal(delivered.id);
    // A notification's has no contact action.
    expect(outcomeEvent({ ...doc, _id: 'digest:x', type: 'mail.letter', ref: undefined }, 'delivered', undefined, at)!.data.ref).to.equal(null);
  });

  it("records the number an attempt went to when it is not the row's (a new consent number at send time)", () => {
    const change = finalChange(
      { id: doc._id, kind: 'failed', error: { code: '21614', message: 'not a mobile', transient: false }, to: '+33699999999' },
      { attempt: 1, startedAt: now },
      at,
    );
    const after = withChange({ ...doc, status: 'pending', statusRank: STATUS_RANK.pending }, change, at);
    expect(after).to.include({ status: 'failed', to: '+33699999999' });
    expect(outcomeEvent(after, after.status, after.error, at)!.data.to).to.equal('+33699999999');
    const same = finalChange({ id: doc._id, kind: 'accepted', status: 'queued', provider: 'memory', providerId: 'M1' }, { attempt: 1, startedAt: now }, at);
    expect(same.set).not.to.have.property('to');
  });
});

describe('contact e-mail (pure)', () => {
  const email = { personId, to: 'jeanne.payet@example.org', subject: 'Votre dossier', text: 'Bonjour,\n\nvotre dossier est complet.', ref };

  it('is one delivery per (org, contact action), by e-mail, with the subject and the signature on a line of its own', () => {
    const doc = contactEmailDelivery(orgId, email, 'CCAS de Saint-Denis', now);
    expect(doc).to.include({
      _id: contactDeliveryId(orgId, ref),
      type: 'contact.email',
      channel: 'email',
      ref,
      to: 'jeanne.payet@example.org',
      from: null,
      subject: 'Votre dossier',
      content: 'Bonjour,\n\nvotre dossier est complet.\n\nCCAS de Saint-Denis',
      encoding: null,
      segments: 0,
      status: 'pending',
      dueAt: now,
    });
    expect(DELIVERY_KIND_LABELS['contact.email']).to.equal('E-mail envoyé depuis le dossier');
    expect(followsConsent('contact.email')).to.equal(false);
    // What the lot sends carries the channel and the subject.
    expect(sendItem(doc)).to.include({ channel: 'email', subject: 'Votre dossier' });
    expect(sendItem(contactDelivery(orgId, { ...email, to: '+33612345678' }, { senderId: 'CCAS', signature: null }, now))).not.to.have.property('channel');
  });

  it("signs once, and leaves an unsigned org's text as written", () => {
    expect(signedEmail('Merci.\n\nCCAS', 'CCAS')).to.equal('Merci.\n\nCCAS');
    expect(signedEmail('Merci.  ', null)).to.equal('Merci.  ');
    expect(signedEmail('Merci.', '  ')).to.equal('Merci.');
  });

  it("takes the SMTP server's acceptance as delivered: it is the last status SMTP reports", () => {
    expect(acceptedStatus('sent', 'email')).to.equal('delivered');
    expect(acceptedStatus('sent', 'sms')).to.equal('sent');
    expect(acceptedStatus('sending', 'sms')).to.equal('queued');
  });

  it('reads a refused recipient (550, 551, 553) as a hard bounce, other SMTP replies as soft, and keeps SMS codes apart', () => {
    expect(outcomeError({ code: '550', transient: false }, 'email')).to.deep.equal({ code: '550', kind: 'hardBounce', permanent: true });
    expect(outcomeError({ code: '553', transient: false }, 'email')).to.deep.equal({ code: '553', kind: 'hardBounce', permanent: true });
    expect(outcomeError({ code: '552', transient: false }, 'email')).to.deep.equal({ code: '552', kind: 'softBounce', permanent: false });
    expect(outcomeError({ code: '452', transient: true }, 'email')).to.deep.equal({ code: '452', kind: 'softBounce', permanent: false });
    // No SMTP reply at all (a connection that kept failing): nothing said about the address.
    expect(outcomeError({ code: 'ECONNECTION', transient: true }, 'email')).to.deep.equal({ code: 'ECONNECTION', kind: 'other', permanent: false });
    // Twilio's "not a mobile" code means nothing for an e-mail, nor an SMTP code for an SMS.
    expect(outcomeError({ code: '21614', transient: false }, 'email').kind).to.equal('other');
    expect(outcomeError({ code: '550', transient: false }, 'sms')).to.deep.equal({ code: '550', kind: 'other', permanent: true });
  });

  it('publishes delivery.outcome with the e-mail medium and the address', () => {
    const doc = contactEmailDelivery(orgId, email, null, now);
    const at = new Date('2026-06-16T10:00:05Z');
    expect(outcomeEvent(doc, 'delivered', undefined, at)!.data).to.deep.include({
      medium: 'email',
      to: email.to,
      type: 'contact.email',
      ref,
      status: 'delivered',
      error: null,
    });
    expect(outcomeEvent(doc, 'failed', { code: '550', transient: false }, at)!.data).to.deep.include({
      status: 'failed',
      error: { code: '550', kind: 'hardBounce', permanent: true },
    });
  });
});

describe('notifications: who is told of what a client wrote (pure)', () => {
  it('tells the collaborator, then the team, each once with the reason, never the author', () => {
    expect(noticeRecipients('u1', ['u2', 'u1', 'u3'], 'portal:a1')).to.deep.equal([
      { userId: 'u1', reason: 'assigned' },
      { userId: 'u2', reason: 'team' },
      { userId: 'u3', reason: 'team' },
    ]);
    expect(noticeRecipients(null, ['u2'], 'u2')).to.deep.equal([]);
    expect(noticeRecipients('u1', [], 'u1')).to.deep.equal([]);
  });
});

describe("notifications: a collaborator's e-mail (pure)", () => {
  it('goes at once, as staff.email, without the org signature', () => {
    const now = new Date('2026-12-01T09:00:00Z');
    const d = staffEmailDelivery(
      'org',
      { personId: 'u1', to: 'claire@relais.test', subject: 'DIT-00001 : nouveau message', text: 'Le client a écrit.', ref: 'r1' },
      now,
    );
    expect(d).to.include({
      _id: contactDeliveryId('org', 'r1'),
      type: 'staff.email',
      channel: 'email',
      to: 'claire@relais.test',
      content: 'Le client a écrit.',
    });
    expect(d.dueAt).to.deep.equal(now);
  });
});
