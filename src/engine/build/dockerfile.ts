import { Fault } from '../../base/fault.ts';

/** One instruction as written: the keyword (upper-cased), its raw arguments, and the line it starts on. */
export interface Instruction {
  keyword: string;
  args: string;
  /** `KEYWORD args` as the build prints it in `Step i/n : …`. */
  original: string;
  line: number;
}

/**
 * Splits a Dockerfile into instructions: `#` comment lines (and parser directives) dropped, `\` continuations
 * joined, blank lines skipped. Arguments stay raw: each instruction interprets its own (JSON or shell form).
 */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let pending = '';
  let start = 0;
  for (const [index, raw] of lines.entries()) {
    const line = raw.trimStart();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending && line.startsWith('#')) continue;
    if (!pending) start = index + 1;
    const continued = /\\\s*$/.test(raw);
    pending += continued ? raw.replace(/\\\s*$/, '') : raw;
    if (continued) continue;
    const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(pending);
    if (!match) throw new Fault('invalid-argument', `dockerfile parse error on line ${start}: unknown instruction: ${pending.trim()}`);
    const args = (match[2] ?? '').trim();
    out.push({ keyword: match[1].toUpperCase(), args, original: `${match[1].toUpperCase()} ${args}`.trim(), line: start });
    pending = '';
  }
  if (pending.trim()) throw new Fault('invalid-argument', 'dockerfile parse error: the last line ends with a continuation');
  if (!out.length) throw new Fault('invalid-argument', 'the Dockerfile cannot be empty');
  return out;
}

/** `["a", "b"]` when the arguments are a JSON array of strings (exec form), else undefined (shell form). */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alt}` from `vars`; `\$` stays a literal `$`. */
export function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, op, word, bare) => {
    if (whole === '\\$') return '$';
    const name = braced ?? bare;
    const value = vars.get(name);
    if (op === '-') return value ? value : word;
    if (op === '+') return value ? word : '';
    return value ?? '';
  });
}

/** `KEY=value KEY2="two words"` or the old `KEY value` form (ENV, LABEL, ARG defaults). */
export function keyValues(args: string, keyword: string): [string, string][] {
  const words = shellWords(args);
  if (words.length && !words[0].includes('=')) {
    if (keyword === 'ARG') return [[words[0], '']];
    const rest = args.trim().slice(args.trim().indexOf(words[0]) + words[0].length).trim();
    if (!rest) throw new Fault('invalid-argument', `${keyword} requires at least one argument`);
    return [[words[0], unquote(rest)]];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Fault('invalid-argument', `${keyword} names must be followed by =: ${word}`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

/** Whitespace-separated words with single and double quotes (and backslash escapes) removed. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new Fault('invalid-argument', `unmatched ${quote} in: ${text}`);
  if (inWord) words.push(current);
  return words;
}

function unquote(text: string): string {
  const words = shellWords(text);
  return words.join(' ');
}
