/*
 * `.dockerignore` as moby reads and matches it (github.com/moby/patternmatcher and its ignorefile package): lines
 * starting with `#` are comments, patterns are trimmed and cleaned (a leading `/` or `./` dropped), `!` re-includes,
 * `*` and `?` stay inside one path element, `**` spans any number of them, and a pattern that matches a directory
 * matches everything under it. Paths are slash-separated and relative to the context root.
 */
import { cleanPath } from '../../base/go-path.ts';
import { Fault } from '../../base/fault.ts';
import { compileIgnorePattern, type PathTest } from './ignore-pattern.ts';

interface Pattern {
  exclusion: boolean;
  match: PathTest;
}

export class Dockerignore {
  readonly #patterns: Pattern[];

  /** Patterns as ignorefile.ReadAll returns them; a malformed one is a Fault, as patternmatcher refuses it. */
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
  return { exclusion, match: compileIgnorePattern(text) };
}
