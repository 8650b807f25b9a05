import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { splitLines } from './dockerfile-lines.ts';

/** moby's directive regexp, as RE2 runs it: fine as an oracle on short lines. */
const mobyDirective = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s;

function outcome(text: string): string {
  try {
    const split = splitLines(text);
    return `${split.escape} ${split.warnings.join('|')}`;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('splitLines directives', () => {
  it('reads a 64 KB directive line in linear time (no backtracking)', () => {
    for (const line of ['#a=x' + ' '.repeat(65_000) + 'y', '#syntax=x' + ' '.repeat(65_000) + 'y', '#escape=\t`' + ' '.repeat(65_000)]) {
      const start = performance.now();
      splitLines(`${line}\n${line.replace('#', '#b')}\nFROM scratch\n`);
      assert.ok(performance.now() - start < 1000, `took ${Math.round(performance.now() - start)} ms`);
    }
  });

  it('captures the value moby captures', () => {
    assert.equal(outcome('# escape = ` \nFROM a\n'), '` ');
    assert.equal(outcome('# escape=  \nFROM a\n'), "invalid escape token ' ' does not match ` or \\");
    assert.equal(outcome('# escape=\nFROM a\n'), '\\ ');
    assert.match(outcome('# syntax= a b \t\nFROM a\n'), /syntax parser directive \(a b\) is ignored/);
  });

  it('agrees with moby\'s regexp on any short directive line', () => {
    const char = fc.constantFrom(' ', '\t', '\r', '=', '#', 'a', 'e', '`', '\\', 'x');
    const line = fc.tuple(fc.constantFrom('#', '# ', '#\t'), fc.constantFrom('escape', 'syntax', 'Escape', 'x1'), fc.array(char, { maxLength: 8 }));
    fc.assert(
      fc.property(line, ([hash, key, rest]) => {
        const text = `${hash}${key}${rest.join('')}`;
        // The regexp sees the line as Go's bufio.ScanLines gives it: without a final \r.
        const match = mobyDirective.exec(text.endsWith('\r') ? text.slice(0, -1) : text);
        const syntax = outcome(`${text}\nFROM a\n`);
        if (match?.[1].toLowerCase() === 'syntax') assert.ok(syntax.includes(`directive (${match[2]}) is ignored`), syntax);
        else if (match?.[1].toLowerCase() === 'escape' && (match[2] === '`' || match[2] === '\\')) assert.equal(syntax, `${match[2]} `);
        else if (match?.[1].toLowerCase() === 'escape') assert.match(syntax, /invalid escape token/);
        else assert.equal(syntax, '\\ ');
      }),
    );
  });
});
