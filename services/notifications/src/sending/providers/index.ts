import { z } from 'zod';
import { ConfigError } from '@relais/shared';
import { LogProvider, type LineLogger } from './log';
import type { Provider } from './provider';
import { redirectTo } from './redirect';
import { SmtpEmailProvider } from './smtp';
import { TwilioSmsProvider } from './twilio';

export * from './provider';
export { LogProvider } from './log';
export { maskEmail, maskPhone, redirectTo } from './redirect';
export { SmtpEmailProvider, smtpError } from './smtp';
export { TWILIO_STATUS_PATH, TwilioSmsProvider, twilioError, twilioStatus } from './twilio';

// An empty variable means "not set" (a blank line in a .env file).
const blank = (v: unknown) => (v === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blank, schema.optional());
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://relais.example.org' });

/** Provider settings of the notifications service, to merge into its config (see withProvidersConfig). */
export const providersConfigSchema = z.object({
  NODE_ENV: optional(z.string()),
  SMS_PROVIDER: z.preprocess(blank, z.enum(['twilio', 'log']).default('log')),
  TWILIO_ACCOUNT_SID: optional(z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be an account SID: AC followed by 32 hex digits')),
  TWILIO_AUTH_TOKEN: optional(z.string().min(16, 'must be the account auth token')),
  /** Replaces https://api.twilio.com, e.g. a local fake in tests and benchmarks. */
  TWILIO_API_URL: optional(httpUrl),
  TWILIO_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** The gateway as Twilio reaches it; status callbacks go to <PUBLIC_BASE_URL>/v1/callbacks/twilio/status. */
  PUBLIC_BASE_URL: optional(httpUrl),
  EMAIL_PROVIDER: z.preprocess(blank, z.enum(['smtp', 'log']).default('log')),
  SMTP_URL: optional(z.string().regex(/^smtps?:\/\/[^/]/, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.org:587')),
  EMAIL_FROM: optional(z.string().min(3)),
  /** Outside production only: every SMS goes to this number instead. */
  REDIRECT_ALL_TO_PHONE: optional(z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +33612345678')),
  /** Outside production only: every e-mail goes to this address instead. */
  REDIRECT_ALL_TO_EMAIL: optional(z.email({ message: 'must be an e-mail address' })),
});
export type ProvidersConfig = z.infer<typeof providersConfigSchema>;

export interface ConfigProblem {
  variable: string;
  message: string;
}

/** The rules between variables, which a field schema cannot express. */
export function providersConfigProblems(c: ProvidersConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const require = (variable: keyof ProvidersConfig, because: string) => {
    if (c[variable] === undefined) problems.push({ variable, message: `is required when ${because}` });
  };
  if (c.SMS_PROVIDER === 'twilio') {
    for (const v of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'PUBLIC_BASE_URL'] as const) require(v, 'SMS_PROVIDER=twilio');
  }
  if (c.EMAIL_PROVIDER === 'smtp') {
    for (const v of ['SMTP_URL', 'EMAIL_FROM'] as const) require(v, 'EMAIL_PROVIDER=smtp');
  }
  if (c.NODE_ENV === 'production') {
    for (const v of ['REDIRECT_ALL_TO_PHONE', 'REDIRECT_ALL_TO_EMAIL'] as const) {
      if (c[v] !== undefined) problems.push({ variable: v, message: 'must not be set when NODE_ENV=production' });
    }
  }
  return problems;
}

const refine = (c: ProvidersConfig, ctx: z.RefinementCtx) => {
  for (const p of providersConfigProblems(c)) ctx.addIssue({ code: 'custom', path: [p.variable], message: p.message });
};

/**
 * `schema` extended with the provider settings and their cross-variable rules. Extend last:
 * zod refuses to extend a schema that carries refinements.
 */
export function withProvidersConfig<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>) {
  return schema.extend(providersConfigSchema.shape).superRefine((c, ctx) => refine(c as ProvidersConfig, ctx));
}

/** The provider settings alone, with their rules (loadConfig(providersConfig) names each faulty variable). */
export const providersConfig = providersConfigSchema.superRefine(refine);

export interface Providers {
  sms: Provider;
  email: Provider;
  /** Closes kept-open connections (Twilio keep-alive sockets, the SMTP pool). */
  close(): void;
}

/** Builds the SMS and e-mail providers the settings name, redirected to the sinks when set. */
export function providersFromConfig(config: ProvidersConfig & { SEND_CONCURRENCY?: number }, opts: { logger?: LineLogger } = {}): Providers {
  const problems = providersConfigProblems(config);
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p.variable} ${p.message}`).join('\n')}`);

  const closers: (() => void)[] = [];
  let sms: Provider;
  if (config.SMS_PROVIDER === 'twilio') {
    const twilio = new TwilioSmsProvider({
      accountSid: config.TWILIO_ACCOUNT_SID!,
      authToken: config.TWILIO_AUTH_TOKEN!,
      apiUrl: config.TWILIO_API_URL,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      timeoutMs: config.TWILIO_TIMEOUT_MS,
      // One connection per concurrent send, so the sender's concurrency is not queued in the agent.
      maxSockets: Math.max(config.SEND_CONCURRENCY ?? 16, 4),
    });
    closers.push(() => twilio.close());
    sms = twilio;
  } else {
    sms = new LogProvider('sms', { logger: opts.logger });
  }

  let email: Provider;
  if (config.EMAIL_PROVIDER === 'smtp') {
    const smtp = new SmtpEmailProvider({ url: config.SMTP_URL!, from: config.EMAIL_FROM });
    closers.push(() => smtp.close());
    email = smtp;
  } else {
    email = new LogProvider('email', { logger: opts.logger });
  }

  const env = { NODE_ENV: config.NODE_ENV };
  if (config.REDIRECT_ALL_TO_PHONE) sms = redirectTo(sms, config.REDIRECT_ALL_TO_PHONE, env);
  if (config.REDIRECT_ALL_TO_EMAIL) email = redirectTo(email, config.REDIRECT_ALL_TO_EMAIL, env);
  return { sms, email, close: () => closers.forEach((close) => close()) };
}
