/*
 * Go's notion of white space and of quoting, as moby's Dockerfile parser and shell lexer use them: JavaScript's
 * `\s` and `trim()` take more characters (U+FEFF) than unicode.IsSpace does.
 */

const goSpace = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$/u;

/** unicode.IsSpace of one character. */
export function isGoSpace(ch: string): boolean {
  return goSpace.test(ch);
}

/** strings.TrimLeftFunc(text, unicode.IsSpace). */
export function goTrimLeft(text: string): string {
  let i = 0;
  for (const ch of text) {
    if (!isGoSpace(ch)) break;
    i += ch.length;
  }
  return text.slice(i);
}

/** strings.TrimSpace. */
export function goTrim(text: string): string {
  const chars = Array.from(goTrimLeft(text));
  let end = chars.length;
  while (end > 0 && isGoSpace(chars[end - 1])) end--;
  return chars.slice(0, end).join('');
}

