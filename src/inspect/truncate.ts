const SURROGATE = /[\ud800-\udfff]/;

/**
 * At most `width` characters (code points), the last one `…` when cut; never
 * splits a surrogate pair, and reads no further into the text than it needs.
 */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  // `width` characters take at most twice as many UTF-16 units.
  const head = text.slice(0, 2 * width);
  // Without surrogate pairs each unit is a character, and there are more than `width` of them.
  const chars = SURROGATE.test(head) ? [...head] : undefined;
  if (chars !== undefined && chars.length <= width && text.length <= 2 * width) return text;
  if (width <= 1) return '…'.slice(0, width);
  return chars === undefined ? `${head.slice(0, width - 1)}…` : `${chars.slice(0, width - 1).join('')}…`;
}
