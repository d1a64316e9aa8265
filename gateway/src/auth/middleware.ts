import type { RequestHandler } from 'express';
import { unauthorized, type PinoLogger } from '@relais/shared';
import { unavailable } from '../http/problems';
import { bearerToken, sameSecret } from './tokens';
import type { TokenVerifier } from './verifier';

const CHALLENGE = 'Bearer realm="relais"';

/** API token authentication: sets res.locals.principal, else 401 with a Bearer challenge. */
export function bearerAuth(verifier: TokenVerifier, logger: PinoLogger): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('Authorization'));
    if (!token) {
      res.set('WWW-Authenticate', CHALLENGE);
      throw unauthorized('Authentication is required: send Authorization: Bearer <token>.');
    }
    let principal;
    try {
      principal = await verifier.verify(token);
    } catch (err) {
      logger.error({ reqId: res.locals.requestId, error: { message: (err as Error).message } }, 'token verification failed');
      throw unavailable('Authentication is temporarily unavailable.');
    }
    if (!principal) {
      res.set('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
      throw unauthorized('The token is not valid: it is unknown or revoked, or its user is disabled.');
    }
    res.locals.principal = principal;
    next();
  };
}

/** The platform operator's token (RELAIS_PLATFORM_TOKEN); without it configured, nobody passes. */
export function platformAuth(secret: string | undefined): RequestHandler {
  return (req, res, next) => {
    const token = bearerToken(req.get('Authorization'));
    if (!secret || !token || !sameSecret(token, secret)) {
      res.set('WWW-Authenticate', `${CHALLENGE}${token ? ', error="invalid_token"' : ''}`);
      throw unauthorized('This requires the platform operator token.');
    }
    next();
  };
}

export const noAuth: RequestHandler = (_req, _res, next) => next();
