import { expect } from 'chai';
import { DEFAULT_SETTINGS, typeRefusal, typesRefusal } from '../src/domain/settings';
import { bouncedMessageId, messageIdOf, replyAddressOf, threadOf } from '../src/domain/threading';

describe('exchanges: threading of e-mails and the type list (pure)', () => {
  const domain = 'ex.relais.test';
  const orgId = 'b3c1f7e2-0d3e-4a55-9c0e-2f1f2a3b4c5d';
  const exchangeId = '6f1e2d3c-4b5a-4c6d-8e7f-0a1b2c3d4e5f';
  const requestId = '0e9d8c7b-6a59-4847-a635-241302f1e0d9';

  it('finds the exchange a reply answers: the last of our ids in References and In-Reply-To', () => {
    const ours = messageIdOf(orgId, exchangeId, domain);
    expect(ours).to.equal(`<${exchangeId}.${orgId}@${domain}>`);
    expect(threadOf({ inReplyTo: ours, recipients: [] }, domain)).to.deep.equal({ kind: 'exchange', orgId, exchangeId });
    // Another domain's id, or a forged one in our domain without an exchange id, is no thread.
    expect(threadOf({ inReplyTo: `<${exchangeId}.${orgId}@elsewhere.test>`, recipients: [] }, domain)).to.equal(null);
    expect(threadOf({ inReplyTo: `<hello@${domain}>`, recipients: [] }, domain)).to.equal(null);
    // A client's own mail program adds its ids after ours: ours is still found.
    expect(threadOf({ references: [ours, '<abc@client.test>'], inReplyTo: '<abc@client.test>', recipients: [] }, domain)).to.deep.equal({
      kind: 'exchange',
      orgId,
      exchangeId,
    });
  });

  it('falls back on the reply address of the request, whatever its case', () => {
    const address = replyAddressOf(requestId, domain);
    expect(address).to.equal(`reply+${requestId}@${domain}`);
    expect(threadOf({ recipients: ['someone@else.test', address.toUpperCase()] }, domain)).to.deep.equal({ kind: 'request', requestId });
    expect(threadOf({ recipients: [`reply+${requestId}@other.test`] }, domain)).to.equal(null);
  });

  it('reads the Message-ID a bounce returns from its headers', () => {
    expect(bouncedMessageId('Subject: x\r\nMessage-Id: <a.b@c>\r\nTo: y')).to.equal('<a.b@c>');
    expect(bouncedMessageId('Subject: x')).to.equal(null);
  });

  it("keeps each type once, and the reminder always; a new exchange takes one of the org's types", () => {
    expect(typesRefusal(DEFAULT_SETTINGS.types)).to.equal(null);
    expect(typesRefusal([{ id: 'visit' }])).to.match(/reminder/);
    expect(typesRefusal([{ id: 'reminder' }, { id: 'reminder' }])).to.match(/twice/);
    expect(typeRefusal(DEFAULT_SETTINGS, 'appointment')).to.equal(null);
    expect(typeRefusal(DEFAULT_SETTINGS, 'visit')).to.match(/contact, appointment/);
  });
});
