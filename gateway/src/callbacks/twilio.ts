import express, { Router, type Request } from 'express';
import twilio from 'twilio';
import { z } from 'zod';
import { parseInput, type PinoLogger } from '@relais/shared';
import { providerStatusInput } from '@relais/notifications/api';
import { httpError } from '../http/problems';

const ROUTE = '/v1/callbacks/twilio/status';

// Twilio leaves ErrorCode out, or sends it empty, when there is no error.
const absentIfEmpty = (v: unknown) => (v === '' ? undefined : v);

/**
 * A Twilio message status callback (form fields plus the `delivery` query parameter the provider
 * put in StatusCallback) as the input of `notifications.providerStatus`.
 */
export const providerStatusFromCallback = z
  .object({
    delivery: z.string().min(1).max(300).optional(),
    MessageSid: z.string().regex(/^[SM]M[0-9a-fA-F]{32}$/, 'must be a Twilio message SID (SM followed by 32 hex digits)'),
    MessageStatus: z.string().regex(/^[a-z_]{1,40}$/, 'must be a Twilio message status such as delivered'),
    ErrorCode: z.preprocess(
      absentIfEmpty,
      z
        .string()
        .regex(/^\d{1,10}$/, 'must be a Twilio error code')
        .optional(),
    ),
  })
  .transform((c) => ({
    ...(c.delivery !== undefined ? { deliveryId: c.delivery } : {}),
    providerId: c.MessageSid,
    status: c.MessageStatus,
    ...(c.ErrorCode !== undefined ? { errorCode: c.ErrorCode } : {}),
  }))
  .pipe(providerStatusInput);
export type ProviderStatusReport = z.output<typeof providerStatusFromCallback>;

export interface TwilioCallbackOptions {
  /** The account's auth token: Twilio signs callbacks with it. */
  authToken: string;
  /** The gateway's URL as Twilio sees it (the provider's PUBLIC_BASE_URL), e.g. https://relais.example.org. */
  publicBaseUrl: string;
  /** Forwards a verified report, e.g. to `notifications.providerStatus`; its errors become problem+json. */
  onStatus(report: ProviderStatusReport): Promise<unknown>;
  logger?: PinoLogger;
}

/**
 * Twilio status callbacks, mounted under /v1/callbacks without bearer authentication: the
 * X-Twilio-Signature (HMAC of the URL Twilio was given and the form fields, with the auth
 * token) is the authentication. A replayed callback carries a valid signature and is accepted:
 * statuses only move forward, so the notifications service ignores a repeat.
 */
export function twilioCallbacks(opts: TwilioCallbackOptions): Router {
  const base = opts.publicBaseUrl.replace(/\/+$/, '');
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 });

  router.post(
    '/twilio/status',
    (req, res, next) => {
      res.locals.route = ROUTE;
      if (!req.is('application/x-www-form-urlencoded')) {
        return next(httpError(415, 'Twilio callbacks are sent as application/x-www-form-urlencoded.'));
      }
      form(req, res, next);
    },
    async (req, res) => {
      const params = (req.body ?? {}) as Record<string, string | string[]>;
      const signature = req.get('X-Twilio-Signature');
      // Twilio signs the StatusCallback URL it was given: the public base plus path and query as received.
      if (!signature || !twilio.validateRequest(opts.authToken, signature, base + req.originalUrl, params)) {
        opts.logger?.warn({ reqId: res.locals.requestId, route: ROUTE, signature: signature ? 'invalid' : 'missing' }, 'twilio callback refused');
        throw httpError(403, signature ? 'The X-Twilio-Signature does not match this request.' : 'The X-Twilio-Signature header is missing.');
      }
      const report = parseInput(providerStatusFromCallback, { ...params, delivery: queryValue(req) });
      await opts.onStatus(report);
      res.status(204).end();
    },
  );

  router.all('/twilio/status', (_req, res, next) => {
    res.locals.route = ROUTE;
    res.set('Allow', 'POST');
    next(httpError(405, 'Twilio callbacks are POST requests.'));
  });
  return router;
}

const queryValue = (req: Request) => req.query.delivery as string | string[] | undefined;
