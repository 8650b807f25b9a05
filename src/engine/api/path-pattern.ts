import { Fault } from '../../base/fault.ts';

type Step = { star: true } | { star: false; test: (ch: string) => boolean };

/**
 * A pattern as Go's path.Match reads it (`*` and `?` stay within a path component, `[a-z]`, `[^…]`, `\` escapes),
 * for moby's `reference` filter. Matched by walking the name once per step rather than through a RegExp, whose
 * backtracking on `*a*a*a…` would stall the engine on one request. A malformed pattern is the client's error.
 */
export function compilePathPattern(pattern: string): (name: string) => boolean {
  const steps = parseSteps(Array.from(pattern), pattern);
  return (name) => matches(steps, Array.from(name));
}

function parseSteps(chars: string[], pattern: string): Step[] {
  const bad = () => new Fault('invalid-argument', `syntax error in pattern: ${JSON.stringify(pattern)}`);
  const steps: Step[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*') steps.push({ star: true });
    else if (c === '?') steps.push({ star: false, test: (ch) => ch !== '/' });
    else if (c === '[') i = parseClass(chars, i + 1, steps, bad);
    else {
      const literal = c === '\\' ? chars[++i] : c;
      if (literal === undefined) throw bad();
      steps.push({ star: false, test: (ch) => ch === literal });
    }
  }
  return steps;
}

/** `[` … `]` from `start` (just after the `[`): pushes its step, returns the index of the closing `]`. */
function parseClass(chars: string[], start: number, steps: Step[], bad: () => Fault): number {
  let i = start;
  const negate = chars[i] === '^';
  if (negate) i++;
  const ranges: [string, string][] = [];
  const endpoint = (): string => {
    const escaped = chars[i] === '\\';
    const ch = escaped ? chars[++i] : chars[i];
    if (ch === undefined || (!escaped && (ch === '-' || ch === ']'))) throw bad();
    i++;
    return ch;
  };
  do {
    const lo = endpoint();
    const hi = chars[i] === '-' ? (i++, endpoint()) : lo;
    ranges.push([lo, hi]);
  } while (chars[i] !== ']' && i < chars.length);
  if (chars[i] !== ']') throw bad();
  steps.push({ star: false, test: (ch) => ranges.some(([lo, hi]) => lo <= ch && ch <= hi) !== negate });
  return i;
}

/** reach[j]: the steps so far can consume exactly the first j characters. O(steps × length), no backtracking. */
function matches(steps: Step[], name: string[]): boolean {
  let reach = name.map(() => false).concat(false);
  reach[0] = true;
  for (const step of steps) {
    const next = reach.map(() => false);
    let open = false;
    for (let j = 0; j <= name.length; j++) {
      if (step.star) {
        open ||= reach[j];
        next[j] = open;
        if (name[j] === '/') open = false;
      } else if (j < name.length && reach[j] && step.test(name[j])) next[j + 1] = true;
    }
    reach = next;
  }
  return reach[name.length];
}
