/*
 * Page cursors, one way for every list: the last item's sort key, base64url-encoded so that clients
 * treat it as opaque. Lists sorted by time then id (newest first) share the `<ISO time>|<id>` key.
 */

/** The cursor of the page after an item whose sort key is `key`. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** The sort key inside `cursor` when `valid` accepts it, else null (not a cursor this list issued). */
export function decodeCursor(cursor: string, valid: (key: string) => boolean): string | null {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  return valid(key) ? key : null;
}

const TIME_KEY = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(.+)$/s;

/** The cursor after an item of a list sorted by time then id. */
export function encodeTimeCursor(at: Date, id: string): string {
  return encodeCursor(`${at.toISOString()}|${id}`);
}

/** The time and id inside a time cursor whose id `id` accepts, else null. */
export function decodeTimeCursor(cursor: string, id: (id: string) => boolean = () => true): { at: Date; id: string } | null {
  const m = TIME_KEY.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || !id(m[2])) return null;
  const at = new Date(m[1]);
  return Number.isNaN(at.getTime()) ? null : { at, id: m[2] };
}
