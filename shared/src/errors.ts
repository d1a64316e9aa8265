import { Errors } from 'moleculer';

/**
 * Errors that cross service boundaries. They are Moleculer client errors so the
 * transporter carries `code`, `type` and `data` to the caller; the gateway maps
 * them to problem+json in one place (toProblem).
 */
export type ErrorType = 'VALIDATION' | 'NOT_FOUND' | 'FORBIDDEN' | 'UNAUTHORIZED' | 'CONFLICT';

export interface FieldProblem {
  path: string;
  message: string;
}

export class AppError extends Errors.MoleculerClientError {
  constructor(message: string, status: number, type: ErrorType, data?: unknown) {
    super(message, status, type, data);
  }
}

export const validationError = (message: string, errors: FieldProblem[] = []) => new AppError(message, 422, 'VALIDATION', { errors });
export const notFound = (what: string) => new AppError(`${what} was not found`, 404, 'NOT_FOUND');
export const forbidden = (message: string) => new AppError(message, 403, 'FORBIDDEN');
export const unauthorized = (message: string) => new AppError(message, 401, 'UNAUTHORIZED');
export const conflict = (message: string) => new AppError(message, 409, 'CONFLICT');
/** 503 for a dependency that is down, nothing done: retryable, and toProblem shows its message. */
export const unavailable = (message: string) => new Errors.MoleculerRetryableError(message, 503, 'UNAVAILABLE');

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
}

const titles: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Invalid input',
  500: 'Internal error',
  503: 'Service unavailable',
  504: 'Timeout',
};

const problem = (status: number, detail: string, errors?: FieldProblem[]): Problem => ({
  type: 'about:blank',
  title: titles[status] ?? 'Error',
  status,
  detail,
  ...(errors && errors.length ? { errors } : {}),
});

/**
 * The single mapping from any error to problem+json. Only messages of errors we
 * raised on purpose reach the client; anything else becomes a bare 500.
 */
export function toProblem(err: unknown): Problem {
  const e = (err ?? {}) as { type?: string; code?: number; message?: string; data?: unknown; status?: number };
  switch (e.type) {
    case 'VALIDATION': {
      const errors = (e.data as { errors?: FieldProblem[] } | undefined)?.errors;
      return problem(422, e.message ?? 'Invalid input', Array.isArray(errors) ? errors : undefined);
    }
    case 'NOT_FOUND':
    case 'FORBIDDEN':
    case 'UNAUTHORIZED':
    case 'CONFLICT':
      return problem(e.code ?? 400, e.message ?? '');
    case 'UNAVAILABLE':
      // Raised on purpose with a message for the client (a dependency is down, nothing was done).
      return problem(503, e.message ?? 'The service is temporarily unavailable; retry shortly.');
    case 'SERVICE_NOT_FOUND':
    case 'SERVICE_NOT_AVAILABLE':
    case 'QUEUE_FULL':
    case 'CIRCUIT_BREAKER_OPEN':
      return problem(503, 'The service is temporarily unavailable; retry shortly.');
    case 'REQUEST_TIMEOUT':
      return problem(
        504,
        'The service took too long to answer; the request may still have been carried out. Retry with the same Idempotency-Key to get its outcome without doing it twice.',
      );
  }
  // Other client errors: HTTP middleware (body parser) sets a 4xx `status`, Moleculer a 4xx `code`.
  const clientStatus = [e.status, e.code].find((s) => typeof s === 'number' && s >= 400 && s < 500);
  if (clientStatus !== undefined) return problem(clientStatus, e.message ?? titles[clientStatus] ?? 'Bad request');
  return problem(500, 'An unexpected error occurred.');
}
