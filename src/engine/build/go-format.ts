/*
 * Go's fmt verbs as moby's classic builder uses them in history lines (`CMD %q`, `VOLUME %v`, `HEALTHCHECK %q`):
 * the history of a built image shows these texts, so they are reproduced exactly.
 */

/** `%q` of a []string: `["a" "b"]`. */
export function goQuotedList(values: readonly string[] | null | undefined): string {
  return `[${(values ?? []).map(goQuote).join(' ')}]`;
}

/** `%v` of a []string: `[a b]`. */
export function goList(values: readonly string[] | null | undefined): string {
  return `[${(values ?? []).join(' ')}]`;
}

/** `%q` of an int: strconv.QuoteRune, Go's character literal (`'\x02'`, `'a'`). */
export function goQuoteRune(code: number): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 39: "\\'", 92: '\\\\' };
  if (named[code]) return `'${named[code]}'`;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  if (code > 0x10ffff) return "'\\ufffd'";
  return `'${String.fromCodePoint(code)}'`;
}

/** time.Duration.String(): `0s`, `1.5s`, `2m0s`, `1h0m0s`, `500ms`, `1µs`. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${sign}${abs}ns`;
  if (abs < 1e6) return `${sign}${trimFraction(abs / 1e3)}µs`;
  if (abs < 1e9) return `${sign}${trimFraction(abs / 1e6)}ms`;
  const hours = Math.floor(abs / 3.6e12);
  const minutes = Math.floor((abs % 3.6e12) / 6e10);
  const seconds = trimFraction((abs % 6e10) / 1e9);
  if (hours) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function trimFraction(value: number): string {
  return String(Number(value.toFixed(9)));
}

/** strconv.Quote: JSON's quoting with Go's escapes for control characters and DEL. */
export function goQuote(text: string): string {
  const named: Record<string, string> = { '\u0007': '\\a', '\u0008': '\\b', '\u000b': '\\v', '\u000c': '\\f' };
  return JSON.stringify(text)
    .replace(/\\u00([0-1][0-9a-f])/g, (_whole, hex: string) => named[String.fromCharCode(parseInt(hex, 16))] ?? `\\x${hex}`)
    .replace(/\u007f/g, '\\x7f');
}
