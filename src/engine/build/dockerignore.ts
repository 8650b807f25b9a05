/*
 * `.dockerignore` as moby reads and matches it (github.com/moby/patternmatcher and its ignorefile package): lines
 * starting with `#` are comments, patterns are trimmed and cleaned (a leading `/` or `./` dropped), `!` re-includes,
 * `*` and `?` stay inside one path element, `**` spans any number of them, and a pattern that matches a directory
 * matches everything under it. Paths are slash-separated and relative to the context root.
 */
import { posix } from 'node:path';
import { Fault } from '../../base/fault.ts';

interface Pattern {
  /** The cleaned pattern, without its `!`. */
  text: string;
  exclusion: boolean;
  match(path: string): boolean;
}

/** Per pattern, whether a directory matched it: handed down to its entries, as moby's MatchInfo. */
export type ParentMatches = readonly boolean[];

export class Dockerignore {
  readonly #patterns: Pattern[];

  /** Patterns as ignorefile.ReadAll returns them; a malformed one is refused as patternmatcher.New refuses it. */
  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((line) => line.trim()).filter(Boolean).map(compilePattern);
  }

  /** The patterns of a `.dockerignore` file's text (moby's ignorefile.ReadAll). */
  static parse(text: string): Dockerignore {
    return new Dockerignore(readPatterns(text));
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** Whether an exception names something under directory `dir` (moby's walk must then enter it). */
  reincludesUnder(dir: string): boolean {
    return this.#patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(`${dir}/`));
  }

  /** moby's MatchesOrParentMatches: `path` or one of its parent directories is excluded, and not re-included. */
  matches(path: string): boolean {
    const file = cleanPath(path);
    if (file === '.') return false;
    const parents = parentPrefixes(file);
    let matched = false;
    for (const pattern of this.#patterns) {
      if (pattern.exclusion !== matched) continue;
      if (pattern.match(file) || parents.some((parent) => pattern.match(parent))) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * moby's MatchesUsingParentResults, for a walk from the root down: `parent` is what the directory holding `path`
   * got (undefined at the top, where parents are matched one by one). Returns the verdict and what to hand down.
   */
  matchesUnder(path: string, parent?: ParentMatches): { excluded: boolean; matches: ParentMatches } {
    const file = cleanPath(path);
    const matches = this.#patterns.map(() => false);
    let excluded = false;
    for (const [i, pattern] of this.#patterns.entries()) {
      let match = parent?.[i] ?? false;
      if (!match) {
        if (pattern.exclusion !== excluded) continue;
        match = pattern.match(file) || (!parent && parentPrefixes(file).some((dir) => pattern.match(dir)));
      }
      matches[i] = match;
      if (match) excluded = !pattern.exclusion;
    }
    return { excluded, matches };
  }
}

/** ignorefile.ReadAll: BOM, comments, blank lines, trimming, cleaning and the leading `/`. */
export function readPatterns(text: string): string[] {
  const patterns: string[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = index === 0 ? raw.replace(/^\uFEFF/, '') : raw;
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (!pattern) continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

/** Go's filepath.Clean on a slash path. */
export function cleanPath(path: string): string {
  if (!path) return '.';
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** `a`, `a/b` for `a/b/c`: the directories a path lies in, outermost first. */
function parentPrefixes(file: string): string[] {
  const dirs = file.split('/').slice(0, -1);
  return dirs.map((_, i) => dirs.slice(0, i + 1).join('/'));
}

function compilePattern(line: string): Pattern {
  let text = cleanPath(line);
  const exclusion = text.startsWith('!');
  if (exclusion) {
    if (text.length === 1) throw new Fault('invalid-argument', 'illegal exclusion pattern: "!"');
    text = text.slice(1);
  }
  checkSyntax(text);
  return { text, exclusion, match: matcherFor(text) };
}

/** Characters that mean something to a regular expression and nothing to filepath.Match (moby's shouldEscape). */
const regexpOnly = new Set([...'.+()|{}$']);

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

/** patternmatcher's compile: an exact, prefix (`a/**`), suffix (`**` first) or regular-expression match. */
function matcherFor(text: string): (path: string) => boolean {
  const chars = [...text];
  let source = '';
  let type: MatchType = 'exact';
  let inClass = false;
  for (let i = 0, token = 0; i < chars.length; i++, token++) {
    const ch = chars[i];
    if (ch === '*' && chars[i + 1] === '*') {
      i += chars[i + 2] === '/' ? 2 : 1;
      if (i + 1 >= chars.length) {
        if (type === 'exact') type = 'prefix';
        else (source += '.*'), (type = 'regexp');
      } else (source += '(.*/)?'), (type = 'regexp');
      if (token === 0) type = 'suffix';
    } else if (ch === '*' || ch === '?') {
      source += ch === '*' ? '[^/]*' : '[^/]';
      type = 'regexp';
    } else if (ch === '\\') {
      const next = chars[++i];
      if (next === undefined) source += '\\\\';
      else (source += /[A-Za-z0-9]/.test(next) ? next : `\\u{${next.codePointAt(0)!.toString(16)}}`), (type = 'regexp');
    } else if (ch === '[' || ch === ']') {
      // Go's regexp takes a lone `]` literally; JavaScript's (unicode mode) refuses it.
      source += ch === ']' && !inClass ? '\\]' : ch;
      inClass = ch === '[' ? true : ch === ']' ? false : inClass;
      type = 'regexp';
    } else source += regexpOnly.has(ch) ? `\\${ch}` : ch;
  }
  return matchOf(type, text, source);
}

function matchOf(type: MatchType, text: string, source: string): (path: string) => boolean {
  switch (type) {
    case 'exact':
      return (path) => path === text;
    case 'prefix':
      return (path) => path.startsWith(text.slice(0, -2));
    case 'suffix': {
      const suffix = text.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    case 'regexp': {
      const re = new RegExp(`^${source}$`, 'u');
      return (path) => re.test(path);
    }
  }
}

/** filepath.Match's verdict on a pattern's syntax: classes must close, ranges need both ends, `\` needs a char. */
function checkSyntax(text: string): void {
  const bad = () => new Fault('invalid-argument', `syntax error in pattern: ${text}`);
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\') {
      if (++i >= chars.length) throw bad();
    } else if (chars[i] === '[') {
      i = classEnd(chars, i + 1, bad);
    }
  }
}

/** The index of the `]` closing a class whose body starts at `start`. */
function classEnd(chars: string[], start: number, bad: () => Fault): number {
  let i = chars[start] === '^' ? start + 1 : start;
  const element = (): void => {
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') throw bad();
    if (chars[i] === '\\') i++;
    if (i >= chars.length) throw bad();
    i++;
  };
  let first = true;
  while (first || chars[i] !== ']') {
    if (i >= chars.length) throw bad();
    element();
    if (chars[i] === '-') {
      i++;
      element();
    }
    first = false;
  }
  return i;
}
