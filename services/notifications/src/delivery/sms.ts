/**
 * SMS encoding and segment count, as carriers bill them: GSM 03.38 (7-bit) when every
 * character is in its basic set or extension table (extension characters take two
 * septets), else UCS-2 (UTF-16 code units).
 */
const GSM_BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** GSM-7 characters that take two septets (an escape, then the character). */
export const GSM_EXTENSION = '\f^{}\\[~]|€';
const basic = new Set(GSM_BASIC);
const extension = new Set(GSM_EXTENSION);

export type Encoding = 'GSM-7' | 'UCS-2';

/**
 * Units a segment holds: a single SMS, or each part of a multipart one (the rest carries the
 * header that joins the parts). Septets for GSM-7, UTF-16 code units for UCS-2.
 */
export const SEGMENT_SIZES: Record<Encoding, { single: number; multipart: number }> = {
  'GSM-7': { single: 160, multipart: 153 },
  'UCS-2': { single: 70, multipart: 67 },
};

export interface SmsSize {
  encoding: Encoding;
  /** Characters as the person reads them. */
  characters: number;
  /** Units billed: septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
}

const isGsm = (c: string) => basic.has(c) || extension.has(c);

const segments = (units: number, size: { single: number; multipart: number }) => (units <= size.single ? 1 : Math.ceil(units / size.multipart));

export function smsSize(text: string): SmsSize {
  const chars = [...text];
  if (chars.every(isGsm)) {
    const units = chars.reduce((n, c) => n + (extension.has(c) ? 2 : 1), 0);
    return { encoding: 'GSM-7', characters: chars.length, units, segments: segments(units, SEGMENT_SIZES['GSM-7']) };
  }
  const units = text.length;
  return { encoding: 'UCS-2', characters: chars.length, units, segments: segments(units, SEGMENT_SIZES['UCS-2']) };
}

/** The characters outside GSM-7, each with its position (1 = the first character, counted as `characters` counts). Pure. */
export function ucs2Characters(text: string): { character: string; position: number }[] {
  return [...text].flatMap((character, i) => (isGsm(character) ? [] : [{ character, position: i + 1 }]));
}
