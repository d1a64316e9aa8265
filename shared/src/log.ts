import pino from 'pino';

/**
 * Paths never written to logs: personal data (phone numbers, e-mails, message
 * bodies) and secrets. Applied to every logger of the project.
 */
export const redactPaths = [
  '*.phone', '*.phoneE164', '*.mobile', '*.email', '*.to', '*.body', '*.text', '*.content',
  '*.token', '*.password', '*.authorization', 'req.headers.authorization',
  'params', 'data',
];

export function createLogger(name: string, level: string) {
  return pino({ name, level, redact: { paths: redactPaths, censor: '[redacted]' } });
}
export type PinoLogger = pino.Logger;
