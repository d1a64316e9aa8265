/*
 * How an e-mail of an exchange finds its way back (seed 004's replies): the e-mail goes with a
 * Message-ID that names the exchange and its org, and with a reply address that names the request.
 * A reply names the Message-ID in In-Reply-To or References; a mail program that drops them still
 * writes to the reply address. Pure.
 */

/** The Message-ID of the e-mail of exchange `exchangeId` of org `orgId`. */
export const messageIdOf = (orgId: string, exchangeId: string, domain: string): string => `<${exchangeId}.${orgId}@${domain}>`;

/** Where replies to e-mails of request `requestId` go (also the envelope sender, so bounces come back too). */
export const replyAddressOf = (requestId: string, domain: string): string => `reply+${requestId}@${domain}`;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Where an inbound e-mail belongs: the exchange it answers, or only the request it was addressed to. */
export type Thread = { kind: 'exchange'; orgId: string; exchangeId: string } | { kind: 'request'; requestId: string };

/**
 * The thread of an inbound e-mail: the last of our Message-IDs among its In-Reply-To and
 * References (the message it answers directly comes last), else a reply address among its
 * recipients, else null. Ids are compared lower-cased; other domains' ids are ignored.
 */
export function threadOf(mail: { inReplyTo?: string; references?: readonly string[]; recipients: readonly string[] }, domain: string): Thread | null {
  const d = domain.toLowerCase().replace(/[.]/g, '\\.');
  const ours = new RegExp(`^<(${UUID})\\.([^@<>\\s]+)@${d}>$`, 'i');
  const ids = [...(mail.references ?? []), ...(mail.inReplyTo ? [mail.inReplyTo] : [])].map((s) => s.trim());
  for (const id of ids.reverse()) {
    const m = ours.exec(id);
    if (m) return { kind: 'exchange', exchangeId: m[1].toLowerCase(), orgId: m[2] };
  }
  const reply = new RegExp(`^reply\\+(${UUID})@${d}$`, 'i');
  for (const r of mail.recipients) {
    const m = reply.exec(r.trim());
    if (m) return { kind: 'request', requestId: m[1].toLowerCase() };
  }
  return null;
}

/** The Message-ID a delivery status report (a bounce) is about: the original's, from its returned headers. */
export function bouncedMessageId(reportedHeaders: string): string | null {
  const m = /^message-id:\s*(<[^<>\s]+>)/im.exec(reportedHeaders);
  return m ? m[1] : null;
}
