import { pipeline, type Readable, type Transform } from 'node:stream';
import busboy from 'busboy';
import type { Request, RequestHandler, Response, Router } from 'express';
import { inPieces, parseInput, validationError } from '@relais/shared';
import { prepareOperation } from './mount';
import { noStore, type RouteRegistry } from './middleware';
import type { BytesAnswer, Operation, Security } from './operation';
import { httpError } from './problems';

export interface UploadLimits {
  /** ATTACHMENT_MAX_BYTES: the gateway hands the service at most one byte more, which the service refuses (413). */
  maxBytes: number;
  /** How long an upload's call may take: the client may still be sending (GATEWAY_REQUEST_TIMEOUT_MS), then the service answers. */
  timeoutMs: number;
}

// A form of a few text fields: more parts than this is not a client of this API.
const MAX_FIELDS = 10;
const MAX_FIELD_BYTES = 8 * 1024;

const invalid = (path: string, message: string) => validationError(`Invalid input: ${path}: ${message}`, [{ path, message }]);

/**
 * Mounts a multipart route (Route.multipart): authenticate, then read the form as it arrives. The text
 * parts come first; the file part starts the action call, its bytes streamed to the service in pieces
 * (inPieces) as they are read. The stream is ended only once the whole form has been read and found
 * right, so the service never keeps a file of a form refused after it (a field after the file, a second
 * file): then, as when the client goes away, the stream fails and the service deletes what it wrote.
 * Mounted before the JSON body parser, which would refuse the body.
 */
export function mountUpload(router: Router, registry: RouteRegistry, op: Operation, guards: Record<Security, RequestHandler>, limits: UploadLimits): void {
  const { schema, tagRoute } = prepareOperation(registry, op);
  const fileField = op.multipart!.file;
  router.post(op.path, tagRoute, noStore, guards[op.security], async (req, res) => {
    if (req.get('Idempotency-Key') !== undefined) {
      throw invalid('Idempotency-Key', 'is not supported on uploads: send the request without it (a retry stores a second copy, with the same sha256)');
    }
    if (!req.is('multipart/form-data')) {
      const sent = req.get('Content-Type')?.split(';')[0];
      throw httpError(415, `Send the file as multipart/form-data, in a part named "${fileField}"${sent ? ` (got ${sent})` : ''}.`);
    }
    // The form is parsed as the bytes arrive, never decoded: a compressed body would be read as its compressed
    // bytes, and a plain one labelled compressed stored as is. Refused like the JSON routes refuse an unknown coding.
    const coding = req.get('Content-Encoding')?.trim().toLowerCase();
    if (coding && coding !== 'identity') {
      throw httpError(415, `Send the form without Content-Encoding (got ${coding}): uploads are not decompressed.`);
    }
    const principal = res.locals.principal;
    const body = await readUpload(req, op, schema, fileField, limits, (raw, stream) =>
      op.run({ raw, input: raw }, { principal, requestId: res.locals.requestId, upload: { stream, timeoutMs: limits.timeoutMs } }),
    );
    res.status(op.status ?? 201).json(body);
  });
}

/** Reads the form and runs the call on its file part; settles with the call's answer or the first problem found. */
function readUpload(
  req: Request,
  op: Operation,
  schema: Operation['input'],
  fileField: string,
  limits: UploadLimits,
  call: (raw: Record<string, unknown>, stream: Readable) => Promise<unknown>,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let form: busboy.Busboy;
    try {
      form = busboy({
        headers: req.headers,
        // File names are UTF-8 in every browser; busboy's default would read them as Latin-1.
        defParamCharset: 'utf8',
        limits: { files: 1, fileSize: limits.maxBytes + 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_FIELDS + 1 },
      });
    } catch (err) {
      reject(httpError(400, `The multipart body cannot be read: ${(err as Error).message}.`));
      return;
    }
    // No prototype: a part named __proto__ is one more unknown field, refused by the schema.
    const fields = Object.create(null) as Record<string, string>;
    let bytes: Transform | undefined;
    let running: Promise<unknown> | undefined;
    let done = false;

    const stopReading = () => {
      req.unpipe(form);
      // Node discards the rest of the body once the answer is sent.
      req.resume();
    };
    const settle = (outcome: Promise<unknown>) => {
      if (done) return;
      done = true;
      outcome.then(resolve, reject);
    };
    /** The first problem of the request: the call, if running, is told the file is not to be kept. */
    const fail = (err: Error) => {
      if (done) return;
      stopReading();
      if (bytes && running) {
        failStream(bytes, err);
        // The service answers once it has dropped what it wrote; the client hears of the problem.
        settle(
          running.then(
            () => Promise.reject(err),
            () => Promise.reject(err),
          ),
        );
      } else {
        settle(Promise.reject(err));
      }
    };

    form.on('field', (name, value, info) => {
      if (bytes) return fail(invalid(name, `must come before the "${fileField}" part`));
      if (name === fileField) return fail(invalid(name, 'must be a file part (with a filename)'));
      if (info.valueTruncated) return fail(invalid(name, `is longer than ${MAX_FIELD_BYTES} bytes`));
      if (Object.hasOwn(fields, name)) return fail(invalid(name, 'is given twice'));
      // busboy replaces bytes that are not UTF-8 with U+FFFD: refused, as in JSON bodies.
      if (value.includes('\ufffd')) return fail(invalid(name, 'is not valid UTF-8'));
      fields[name] = value;
    });

    form.on('file', (name, file, info) => {
      if (name !== fileField) {
        file.resume();
        return fail(invalid(name, `is not a file part of this form; send the file as "${fileField}"`));
      }
      const filename = info.filename ?? '';
      if (filename.includes('\ufffd')) {
        file.resume();
        return fail(invalid(`${fileField}.filename`, 'is not valid UTF-8'));
      }
      const path = req.params as Record<string, string>;
      const given = Object.keys(fields).filter((k) => Object.hasOwn(path, k));
      if (given.length > 0) {
        file.resume();
        return fail(invalid(given[0], 'is given by the URL path; leave it out of the form'));
      }
      const raw = { ...fields, ...path, [fileField]: { filename, contentType: info.mimeType } };
      try {
        parseInput(schema, raw);
      } catch (err) {
        file.resume();
        return fail(err as Error);
      }
      bytes = inPieces();
      // Errors reach the service through the transporter's own listener (failStream); this one only keeps them from being unheard.
      bytes.on('error', () => {});
      file.on('error', () => fail(httpError(400, 'The multipart body ended before the end of the file; nothing was stored.')));
      file.pipe(bytes, { end: false });
      running = call(raw, bytes);
      // A call that ends while the form is still being read was refused (role, party, size, type): answer it now.
      running.then(
        () => undefined,
        () => {
          if (done) return;
          stopReading();
          bytes!.end();
          settle(running!);
        },
      );
    });

    form.on('filesLimit', () => fail(invalid(fileField, 'send one file per request')));
    form.on('fieldsLimit', () => fail(invalid('(body)', `at most ${MAX_FIELDS} text parts`)));
    form.on('partsLimit', () => fail(invalid('(body)', `at most ${MAX_FIELDS + 1} parts`)));
    form.on('error', (err: Error) => fail(httpError(400, `The multipart body is malformed (${err.message}).`)));
    form.on('close', () => {
      if (done) return;
      if (!bytes || !running) return fail(invalid(fileField, `is required: send the file as a part named "${fileField}"`));
      bytes.end();
      settle(running);
    });
    req.on('close', () => {
      if (!req.complete) fail(httpError(400, 'The client closed the connection before the end of the upload.'));
    });
    req.pipe(form);
  });
}

/**
 * Fails the stream of a running call, so that the service drops what it wrote. The transporter listens to
 * the stream only once the call's first message is sent: destroyed before, the stream would never tell
 * the service anything, which would wait for the rest of the file until the call's timeout.
 */
function failStream(bytes: Readable, err: Error): void {
  if (bytes.listenerCount('data') > 0) bytes.destroy(err);
  else bytes.once('resume', () => bytes.destroy(err));
}

/**
 * The ASCII fallback (`filename`, for old clients) and the exact name (`filename*`, RFC 8187) of a
 * download: nothing of the name can end the header or add a parameter.
 */
export function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  // encodeURIComponent leaves ' ( ) * alone, which RFC 8187 does not allow unencoded.
  const exact = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${exact}`;
}

/**
 * Sends a download (Route.streamsBytes): the headers the action described, then its stream piped to the
 * response. A stream that fails midway cuts the connection: the client sees fewer bytes than Content-Length.
 */
export function sendBytes(res: Response, { stream, file }: BytesAnswer, status: number): void {
  // The transporter may still report an error on a stream the response has stopped reading.
  stream.on('error', () => {});
  res.status(status).set({
    'Content-Type': file.contentType,
    'Content-Length': String(file.size),
    'Content-Disposition': contentDisposition(file.filename),
    'X-Content-Type-Options': 'nosniff',
  });
  pipeline(stream, res, (err) => {
    if (err) res.destroy();
  });
}
