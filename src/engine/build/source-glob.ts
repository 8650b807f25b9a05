/*
 * COPY/ADD wildcards as moby's classic builder reads them: Go's filepath.Match over a path relative to the
 * context (`*` and `?` never cross a `/`, `[...]` classes with `^` and ranges, `\` escapes). A malformed pattern
 * matches nothing, as moby ignores Match's ErrBadPattern.
 */

/** Whether `source` has a wildcard moby expands (an escaped one does not count). */
export function hasWildcards(source: string): boolean {
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if ('*?['.includes(source[i]!)) return true;
  }
  return false;
}

/** Go's filepath.Match(pattern, name) on Linux; false for a malformed pattern. */
export function matchPath(pattern: string, name: string): boolean {
  return matchAt(pattern, 0, name, 0) === true;
}

type Result = boolean | 'bad';

function matchAt(p: string, pi: number, s: string, si: number): Result {
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === '*') {
      while (p[pi] === '*') pi++;
      for (let k = si; ; k++) {
        const r = matchAt(p, pi, s, k);
        if (r !== false) return r;
        if (k >= s.length || s[k] === '/') return false;
      }
    }
    if (si >= s.length) return false;
    if (c === '?') {
      if (s[si] === '/') return false;
      pi++;
    } else if (c === '[') {
      const cls = matchClass(p, pi + 1, s[si]!);
      if (cls === 'bad') return 'bad';
      if (!cls.matched) return false;
      pi = cls.next;
    } else {
      let literal = c;
      if (c === '\\') {
        if (pi + 1 >= p.length) return 'bad';
        literal = p[++pi]!;
      }
      if (s[si] !== literal) return false;
      pi++;
    }
    si++;
  }
  return si === s.length;
}

/** A `[...]` class starting after its `[`: whether `ch` is in it and where the pattern goes on. */
function matchClass(p: string, pi: number, ch: string): { matched: boolean; next: number } | 'bad' {
  const negated = p[pi] === '^';
  if (negated) pi++;
  let matched = false;
  let ranges = 0;
  for (;;) {
    if (pi >= p.length) return 'bad';
    if (p[pi] === ']' && ranges > 0) return { matched: matched !== negated, next: pi + 1 };
    const lo = classChar(p, pi);
    if (lo === 'bad') return 'bad';
    let hi = lo;
    pi = lo.next;
    if (p[pi] === '-') {
      const upper = classChar(p, pi + 1);
      if (upper === 'bad') return 'bad';
      hi = upper;
      pi = upper.next;
    }
    if (lo.ch <= ch && ch <= hi.ch) matched = true;
    ranges++;
  }
}

function classChar(p: string, pi: number): { ch: string; next: number } | 'bad' {
  const c = p[pi];
  if (c === undefined || c === '-' || c === ']') return 'bad';
  if (c !== '\\') return { ch: c, next: pi + 1 };
  const escaped = p[pi + 1];
  return escaped === undefined ? 'bad' : { ch: escaped, next: pi + 2 };
}
