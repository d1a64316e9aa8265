import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Accepted, OutgoingMessage, Provider, ProviderMessageState } from './provider';

/** "+33 6 ** ** ** 78": enough to tell recipients apart in a test inbox, not to dial them. */
export function maskPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164.replace(/\d(?=\d{2})/g, '*');
  const formatted = parsed.formatInternational();
  const prefix = `+${parsed.countryCallingCode}`;
  const national = parsed.nationalNumber.length;
  let seen = 0;
  const rest = formatted.slice(prefix.length).replace(/\d/g, (d) => (seen++ === 0 || seen > national - 2 ? d : '*'));
  return prefix + rest;
}

/** "j***@example.org" */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address[0]}***${address.slice(at)}`;
}

const mask = (message: Pick<OutgoingMessage, 'channel' | 'to'>) => (message.channel === 'sms' ? maskPhone(message.to) : maskEmail(message.to));

/**
 * Outside production, sends every message to one sink (a phone number or a mailbox) instead of
 * its recipient, the body prefixed with the masked real recipient, so staging runs on real
 * data never reach real people.
 */
export function redirectTo(provider: Provider, sink: string, env: NodeJS.ProcessEnv = process.env): Provider {
  if (env.NODE_ENV === 'production') throw new Error('Redirecting messages to a sink is refused when NODE_ENV=production');
  const rewrite = <M extends Pick<OutgoingMessage, 'channel' | 'to' | 'body'>>(message: M): M => ({
    ...message,
    to: sink,
    body: `[to ${mask(message)}] ${message.body}`,
  });
  return {
    name: `${provider.name}+redirect`,
    channel: provider.channel,
    send: (message: OutgoingMessage): Promise<Accepted> => {
      const redirected = rewrite(message);
      if (message.subject !== undefined) redirected.subject = `[to ${mask(message)}] ${message.subject}`;
      return provider.send(redirected);
    },
    ...(provider.fetch ? { fetch: (providerId: string) => provider.fetch!(providerId) } : {}),
    // The provider saw the rewritten message: look for that one.
    ...(provider.findSent
      ? {
          findSent: (query: { to: string; body: string; since: Date }): Promise<ProviderMessageState | null> => {
            const { to, body } = rewrite({ channel: provider.channel, to: query.to, body: query.body });
            return provider.findSent!({ to, body, since: query.since });
          },
        }
      : {}),
  };
}
