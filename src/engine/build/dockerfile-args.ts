import { LineError } from './dockerfile-lines.ts';
import { goTrimLeft, isGoSpace } from './go-text.ts';

// moby's reWhitespace (no newline: a logical line has none).
const whitespace = /[\t\v\f\r ]+/;

/** regexp.Split(text, n) on whitespace: at most `n` fields (all when n < 0). */
export function splitWhitespace(text: string, n = -1): string[] {
  const fields = text.split(whitespace);
  return n > 0 && fields.length > n ? [...fields.slice(0, n - 1), text.slice(nthFieldStart(text, n - 1))] : fields;
}

function nthFieldStart(text: string, n: number): number {
  const re = new RegExp(whitespace.source, 'g');
  let index = 0;
  for (let i = 0; i < n; i++) {
    const match = re.exec(text);
    index = match ? match.index + match[0].length : text.length;
  }
  return index;
}

/**
 * moby's parseWords: whitespace-separated words with quotes and escape chars KEPT (expansion strips them later);
 * whitespace inside quotes or after the escape char does not split.
 */
export function parseWords(rest: string, escape: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let word = '';
  let quote = '';
  let blankOk = false;
  let inWord = false;
  for (let pos = 0; pos < chars.length; pos++) {
    let ch = chars[pos];
    if (!inWord) {
      if (isGoSpace(ch)) continue;
      inWord = true;
    }
    if (!quote && isGoSpace(ch)) {
      if (blankOk || word.length) words.push(word);
      [word, blankOk, inWord] = ['', false, false];
      continue;
    }
    const opensQuote = !quote && (ch === "'" || ch === '"');
    const closesQuote = !!quote && ch === quote;
    if (ch === escape && quote !== "'" && !closesQuote) {
      // An escape char at the very end is dropped; otherwise it stays, with the char it escapes.
      if (pos + 1 === chars.length) continue;
      word += ch;
      ch = chars[++pos];
    }
    if (opensQuote) [quote, blankOk] = [ch, true];
    else if (closesQuote) quote = '';
    word += ch;
  }
  if (inWord && (blankOk || word.length)) words.push(word);
  return words;
}

/** The two shapes of ENV and LABEL: `KEY value…` (old) or `K=V K2=V2…` (quotes kept in both). */
export function parseNameVal(rest: string, keyword: string, escape: string): [string, string][] {
  const words = parseWords(rest, escape);
  if (!words.length) return [];
  if (!words[0].includes('=')) {
    const parts = splitWhitespace(rest, 2);
    if (parts.length < 2) throw new LineError(`${keyword} must have two arguments`);
    return [[parts[0], parts[1]]];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) throw new LineError(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

export const notStringArray = 'when using JSON array syntax, arrays must be comprised of strings only';

/**
 * The exec form as moby's parseJSON reads it (Go's json.Decoder: the first value only, anything after it is
 * ignored): the strings, undefined when the text is not a JSON array (then it is the shell form). An array
 * holding anything but strings is an error, not the shell form.
 */
export function parseJsonArray(rest: string): string[] | undefined {
  const text = goTrimLeft(rest);
  if (!text.startsWith('[')) return undefined;
  const end = endOfValue(text);
  if (end < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((item) => typeof item === 'string')) throw new LineError(notStringArray);
  return value as string[];
}

/** The index after the bracket closing the value that starts at 0, or -1. */
function endOfValue(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}
