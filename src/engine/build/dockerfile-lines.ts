import { goTrimLeft } from './go-text.ts';

/** One instruction's text: continuation lines joined, comments inside it dropped, as moby's parser.Parse does. */
export interface LogicalLine {
  text: string;
  /** 1-based line of its first physical line. */
  line: number;
}

export interface SplitDockerfile {
  escape: string;
  lines: LogicalLine[];
  warnings: string[];
}

/** An error of moby's first phase (parser.Parse); the caller words it ("failed to parse Dockerfile: …"). */
export class LineError extends Error {}

// bufio.Scanner's default limit: moby refuses longer lines.
const maxLine = 64 * 1024 - 1;
// moby's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` runs in linear time under RE2 but backtracks quadratically
// in V8 on a long value, so only the key is matched here and the value is trimmed by directiveValue.
const directiveRe = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=(.*)$/s;
const reSpace = new Set(['\t', '\n', '\f', '\r', ' ']);

/**
 * The value moby's `\s*(.+?)\s*$` captures from the text after `=`: trimmed of regexp spaces; when that is all
 * there is, the lazy group still takes one (the last); undefined (no directive) when nothing follows `=`.
 */
function directiveValue(rest: string): string | undefined {
  let start = 0;
  let end = rest.length;
  while (start < end && reSpace.has(rest[start])) start++;
  while (end > start && reSpace.has(rest[end - 1])) end--;
  if (start < end) return rest.slice(start, end);
  return rest ? rest.slice(-1) : undefined;
}

/** Parser directives (`# escape=`, `# syntax=`): only in the leading run of `# k=v` comment lines, once each. */
class Directives {
  escape = '\\';
  syntax: string | undefined;
  #done = false;
  #seen = new Set<string>();
  #continuation = continuationRe('\\');

  see(line: string): void {
    if (this.#done) return;
    const match = directiveRe.exec(line);
    const key = match?.[1].toLowerCase();
    const value = match ? directiveValue(match[2]) : undefined;
    if (value === undefined || (key !== 'escape' && key !== 'syntax')) {
      this.#done = true;
      return;
    }
    if (this.#seen.has(key)) throw new LineError(`only one ${key} parser directive can be used`);
    this.#seen.add(key);
    if (key === 'syntax') this.syntax = value;
    else this.#setEscape(value);
  }

  /** The line without its continuation token, and whether the instruction ends on it. */
  trimContinuation(line: string): [string, boolean] {
    if (!this.#continuation.test(line)) return [line, true];
    return [line.replace(this.#continuation, '$1'), false];
  }

  #setEscape(token: string): void {
    if (token !== '`' && token !== '\\') throw new LineError(`invalid escape token '${token}' does not match \` or \\`);
    this.escape = token;
    this.#continuation = continuationRe(token);
  }
}

/** The escape char as the last non-blank char of a line (not itself escaped), or alone on its line. */
function continuationRe(token: string): RegExp {
  const t = token === '\\' ? '\\\\' : token;
  return new RegExp(`([^${t}])${t}[ \\t]*$|^${t}[ \\t]*$`);
}

const isComment = (raw: string): boolean => goTrimLeft(raw).startsWith('#');
const dropComment = (line: string): string => (line.startsWith('#') ? '' : line);

/** bufio.ScanLines: split on `\n`, one trailing `\r` dropped, no empty token after a final newline. */
function physicalLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length) lines[0] = lines[0].replace(/^\uFEFF/, '');
  for (const line of lines) {
    if (Buffer.byteLength(line) > maxLine) throw new LineError(`dockerfile line greater than max allowed size of ${maxLine}`);
  }
  return lines.map((line) => line.replace(/\r$/, ''));
}

/** moby's parser.Parse up to the instruction text: directives, comments, continuations, empty-line warnings. */
export function splitLines(text: string): SplitDockerfile {
  const raw = physicalLines(text);
  const directives = new Directives();
  const lines: LogicalLine[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < raw.length; ) {
    const first = goTrimLeft(raw[i]);
    directives.see(first);
    const start = ++i;
    let [line, ended] = directives.trimContinuation(dropComment(first));
    if (ended && line === '') continue;
    let emptyContinuation = false;
    while (!ended && i < raw.length) {
      const next = raw[i++];
      directives.see(next);
      if (isComment(next)) continue;
      if (goTrimLeft(next) === '') {
        emptyContinuation = true;
        continue;
      }
      const [part, end] = directives.trimContinuation(next);
      line += part;
      ended = end;
    }
    if (emptyContinuation) warnings.push(`[WARNING]: Empty continuation line found in:\n    ${line}`);
    lines.push({ text: line, line: start });
  }
  if (warnings.length) warnings.push('[WARNING]: Empty continuation lines will become errors in a future release.');
  if (directives.syntax !== undefined) {
    warnings.unshift(`[WARNING]: The syntax parser directive (${directives.syntax}) is ignored: this builder has no BuildKit frontends.`);
  }
  if (!lines.length) throw new LineError('file with no instructions');
  return { escape: directives.escape, lines, warnings };
}
