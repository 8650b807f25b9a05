import { Fault } from '../../base/fault.ts';
import { goQuote } from './go-format.ts';
import { isGoSpace } from './go-text.ts';

/**
 * moby's shell.Lex (buildkit frontend/dockerfile/shell/lex.go) as the classic builder uses it: single quotes
 * literal, double quotes with `$` expanded and only `"`, `$` and the escape char escapable, the escape char
 * (`\` or `` ` ``) outside quotes, `$name`, `${name}`, `${name:-w}` `${name-w}` `${name:+w}` `${name+w}`
 * `${name:?msg}` `${name?msg}`. A `$` not followed by a name stays a literal `$`; an unset name is empty.
 */
export function expandWord(word: string, env: ReadonlyMap<string, string>, escape = '\\'): string {
  return processWord(word, env, escape).word;
}

/**
 * ProcessWords: the same expansion, then the result split on whitespace, except whitespace that came from
 * quotes or escapes (text substituted for `$…` is split, as the shell's field splitting does).
 */
export function expandWords(text: string, env: ReadonlyMap<string, string>, escape = '\\'): string[] {
  return processWord(text, env, escape).words;
}

interface Scan {
  chars: string[];
  pos: number;
  env: ReadonlyMap<string, string>;
  escape: string;
}

const EOF = '';

function processWord(source: string, env: ReadonlyMap<string, string>, escape: string): { word: string; words: string[] } {
  const scan: Scan = { chars: Array.from(source), pos: 0, env, escape };
  try {
    return processStopOn(scan, EOF);
  } catch (err) {
    if (!(err instanceof LexError)) throw err;
    throw new Fault('invalid-argument', `failed to process ${goQuote(source)}: ${err.message}`);
  }
}

class LexError extends Error {}

const peek = (scan: Scan): string => scan.chars[scan.pos] ?? EOF;
const next = (scan: Scan): string => scan.chars[scan.pos++] ?? EOF;

/** Words as moby's wordsStruct builds them: `inWord` makes a quoted empty string start (but not be) a word. */
class Words {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (isGoSpace(ch) && this.inWord) {
      if (this.word.length) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!isGoSpace(ch)) this.addRaw(ch);
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  addRaw(text: string): void {
    this.word += text;
    this.inWord = true;
  }

  done(): string[] {
    if (this.word.length) this.words.push(this.word);
    return this.words;
  }
}

function processStopOn(scan: Scan, stop: string): { word: string; words: string[] } {
  let result = '';
  const words = new Words();
  while (peek(scan) !== EOF) {
    const ch = peek(scan);
    if (stop !== EOF && ch === stop) {
      scan.pos++;
      return { word: result, words: words.done() };
    }
    if (ch === "'" || ch === '"' || ch === '$') {
      const part = ch === "'" ? singleQuote(scan) : ch === '"' ? doubleQuote(scan) : dollar(scan);
      result += part;
      if (ch === '$') words.addString(part);
      else words.addRaw(part);
      continue;
    }
    let c = next(scan);
    if (c === scan.escape) {
      // The escape char takes the next char literally; at the end of the word it is dropped.
      c = next(scan);
      if (c === EOF) break;
      words.addRaw(c);
    } else words.addChar(c);
    result += c;
  }
  if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
  return { word: result, words: words.done() };
}

function singleQuote(scan: Scan): string {
  scan.pos++;
  let result = '';
  for (;;) {
    const ch = next(scan);
    if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
    if (ch === "'") return result;
    result += ch;
  }
}

function doubleQuote(scan: Scan): string {
  scan.pos++;
  let result = '';
  for (;;) {
    const ch = peek(scan);
    if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
    if (ch === '"') {
      scan.pos++;
      return result;
    }
    if (ch === '$') {
      result += dollar(scan);
      continue;
    }
    let c = next(scan);
    if (c === scan.escape) {
      const after = peek(scan);
      // An escape char at the very end is dropped (the missing quote is reported next round).
      if (after === EOF) continue;
      if (after === '"' || after === '$' || after === scan.escape) c = next(scan);
    }
    result += c;
  }
}

function dollar(scan: Scan): string {
  scan.pos++;
  if (peek(scan) !== '{') {
    const name = processName(scan);
    return name === '' ? '$' : (scan.env.get(name) ?? '');
  }
  scan.pos++;
  const first = peek(scan);
  if (first === EOF) throw new LexError("syntax error: missing '}'");
  if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
  const name = processName(scan);
  const ch = next(scan);
  if (ch === '}') return scan.env.get(name) ?? '';
  if (ch === ':') return modifier(scan, name, next(scan), true);
  if (ch === '-' || ch === '+' || ch === '?') return modifier(scan, name, ch, false);
  throw new LexError("missing ':' in substitution");
}

/** `${name:-w}` and friends; with the colon (`nullIsUnset`) an empty value counts as unset. */
function modifier(scan: Scan, name: string, op: string, nullIsUnset: boolean): string {
  let word: string;
  try {
    word = processStopOn(scan, '}').word;
  } catch (err) {
    if (err instanceof LexError && peek(scan) === EOF) throw new LexError("syntax error: missing '}'");
    throw err;
  }
  const value = scan.env.get(name);
  const unset = value === undefined || (nullIsUnset && value === '');
  switch (op) {
    case '-':
      return unset ? word : (value ?? '');
    case '+':
      return unset ? '' : word;
    case '?':
      if (value === undefined) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
      if (unset) throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
      return value;
    default:
      throw new LexError(`unsupported modifier (${op}) in substitution`);
  }
}

/** A name: letters, digits and `_`; a leading digit reads only digits; a special parameter is one char. */
function processName(scan: Scan): string {
  let name = '';
  for (let ch = peek(scan); ch !== EOF; ch = peek(scan)) {
    if (name === '' && /^\p{Nd}$/u.test(ch)) {
      while (/^\p{Nd}$/u.test(peek(scan))) name += next(scan);
      return name;
    }
    if (name === '' && '@*#?-$!0'.includes(ch)) return next(scan);
    if (!/^[\p{L}\p{Nd}_]$/u.test(ch)) break;
    name += next(scan);
  }
  return name;
}
