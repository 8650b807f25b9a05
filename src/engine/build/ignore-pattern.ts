/*
 * One `.dockerignore` pattern as moby's patternmatcher compiles it: an exact, prefix (`a/**`) or suffix (`**` first)
 * match, else what its regular expression would match (`*` and `?` stay inside a path element, `**` spans elements,
 * `[…]` classes, `\` escapes). That expression is not built: its nested optional groups for `**` backtrack exponentially in V8
 * (RE2 runs them in linear time), so the pattern becomes tokens run as an NFA, O(pattern × path).
 */
import { Fault } from '../../base/fault.ts';

type Token =
  | { kind: 'char'; test: (ch: string) => boolean }
  /** `*` (`[^/]*`) or a trailing `**` (`.*`). */
  | { kind: 'star'; crossesSlash: boolean }
  /** `**` not at the end: nothing, or anything ending in `/`. */
  | { kind: 'dirs' };

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

export type PathTest = (path: string) => boolean;

/** The matcher of a cleaned pattern (without its `!`); a Fault when filepath.Match or Go's regexp would refuse it. */
export function compileIgnorePattern(text: string): PathTest {
  checkSyntax(text);
  const chars = [...text];
  const tokens: Token[] = [];
  let type: MatchType = 'exact';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const first = i === 0;
    if (ch === '*' && chars[i + 1] === '*') {
      i += chars[i + 2] === '/' ? 2 : 1;
      if (i + 1 < chars.length) (type = 'regexp'), tokens.push({ kind: 'dirs' });
      else if (type === 'exact') type = 'prefix';
      else (type = 'regexp'), tokens.push({ kind: 'star', crossesSlash: true });
      if (first) type = 'suffix';
    } else if (ch === '*' || ch === '?') {
      type = 'regexp';
      tokens.push(ch === '*' ? { kind: 'star', crossesSlash: false } : { kind: 'char', test: (c) => c !== '/' });
    } else if (ch === '\\' && i + 1 < chars.length) {
      type = 'regexp';
      tokens.push(literal(chars[++i]));
    } else if (ch === '[') {
      type = 'regexp';
      const [test, end] = classAt(chars, i + 1, text);
      tokens.push({ kind: 'char', test });
      i = end;
    } else {
      if (ch === ']') type = 'regexp';
      tokens.push(literal(ch));
    }
  }
  return matchOf(type, text, tokens);
}

const literal = (ch: string): Token => ({ kind: 'char', test: (c) => c === ch });

function matchOf(type: MatchType, text: string, tokens: Token[]): PathTest {
  switch (type) {
    case 'exact':
      return (path) => path === text;
    case 'prefix':
      return (path) => path.startsWith(text.slice(0, -2));
    case 'suffix': {
      const suffix = text.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    case 'regexp':
      return (path) => runTokens(tokens, [...path]);
  }
}

/**
 * Thompson simulation: states 0..n are "before token i" (n accepts), n+1+i is "inside token i (a `**` not at the end)".
 * Every character advances the whole state set once, so no input backtracks.
 */
function runTokens(tokens: Token[], path: string[]): boolean {
  const n = tokens.length;
  let current = new Uint8Array(2 * n + 1);
  const enter = (set: Uint8Array, i: number): void => {
    for (; i <= n && !set[i]; i++) {
      set[i] = 1;
      if (i === n || tokens[i].kind === 'char') return;
    }
  };
  enter(current, 0);
  for (const ch of path) {
    const next = new Uint8Array(2 * n + 1);
    for (let i = 0; i < n; i++) {
      const token = tokens[i];
      if (current[i] && token.kind === 'char' && token.test(ch)) enter(next, i + 1);
      if (current[i] && token.kind === 'star' && (token.crossesSlash || ch !== '/')) enter(next, i);
      if ((current[i] && token.kind === 'dirs') || current[n + 1 + i]) {
        next[n + 1 + i] = 1;
        if (ch === '/') enter(next, i + 1);
      }
    }
    current = next;
  }
  return current[n] === 1;
}

/** A `[…]` class whose body starts at `start` (Go regexp's reading: `^` negates; it may match `/`); and its `]`. */
function classAt(chars: string[], start: number, text: string): [(ch: string) => boolean, number] {
  let i = start;
  const negated = chars[i] === '^';
  if (negated) i++;
  const ranges: [number, number][] = [];
  const element = (): number => (chars[i] === '\\' ? chars[(i += 2) - 1] : chars[i++]).codePointAt(0)!;
  while (chars[i] !== ']') {
    const low = element();
    const high = chars[i] === '-' && chars[i + 1] !== ']' ? (i++, element()) : low;
    if (high < low) throw new Fault('invalid-argument', `syntax error in pattern: ${text}: invalid character class range`);
    ranges.push([low, high]);
  }
  const test = (ch: string): boolean => {
    const code = ch.codePointAt(0)!;
    return ranges.some(([low, high]) => code >= low && code <= high) !== negated;
  };
  return [test, i];
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
