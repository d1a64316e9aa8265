/**
 * SMS encoding and segment count, as carriers bill them: GSM 03.38 (7-bit) when every
 * character is in its basic set or extension table (extension characters take two
 * septets), else UCS-2 (UTF-16 code units).
 */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION = '\f^{}\\[~]|€';
const basic = new Set(GSM_BASIC);
const extension = new Set(GSM_EXTENSION);

export type Encoding = 'GSM-7' | 'UCS-2';

export interface SmsSize {
  encoding: Encoding;
  /** Characters as the person reads them. */
  characters: number;
  /** Units billed: septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
}

export function smsSize(text: string): SmsSize {
  const chars = [...text];
  const gsm = chars.every((c) => basic.has(c) || extension.has(c));
  if (gsm) {
    const units = chars.reduce((n, c) => n + (extension.has(c) ? 2 : 1), 0);
    return { encoding: 'GSM-7', characters: chars.length, units, segments: units <= 160 ? 1 : Math.ceil(units / 153) };
  }
  const units = text.length;
  return { encoding: 'UCS-2', characters: chars.length, units, segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}
