import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { Dockerignore, readPatterns } from './dockerignore.ts';

/** [patterns, path, excluded]: moby's MatchesOrParentMatches verdicts. */
const cases: [string[], string, boolean][] = [
  [['*'], 'main.go', true],
  [['*.go'], 'main.go', true],
  [['*.go'], 'cmd/main.go', false],
  [['*/*.go'], 'cmd/main.go', true],
  [['!main.go', '*.go'], 'main.go', true],
  [['*.go', '!main.go'], 'main.go', false],
  [['*.go', '!main.go', 'main*'], 'main.go', true],
  [['notes'], 'notes/today.txt', true],
  [['notes/'], 'notes/today.txt', true],
  [['notes', '!notes/today.txt'], 'notes/today.txt', false],
  [['notes/*', '!notes/today.txt'], 'notes/today.txt', false],
  [['notes', '!notes/today.txt'], 'notes/yesterday.txt', true],
  [['./notes'], 'notes/x', true],
  [['notes/../tmp'], 'tmp', true],
  [['**'], 'anything/at/all', true],
  [['**/'], 'top', true],
  [['**/*.log'], 'app.log', true],
  [['**/*.log'], 'var/run/app.log', true],
  [['**/*.log'], 'var/run/app.logs', false],
  [['**/cache'], 'cache', true],
  [['**/cache'], 'home/me/cache/blob', true],
  [['**cache'], 'home/mycache', true],
  [['build/**'], 'build', false],
  [['build/**'], 'build/out/bin', true],
  [['**/vendor/**'], 'src/vendor/pkg/x.go', true],
  [['src/**/test'], 'src/test', true],
  [['src/**/test'], 'src/a/b/test', true],
  [['src/**/test'], 'src/a/b/tests', false],
  [['src/**/*.ts'], 'src/a/b/c.ts', true],
  [['x**/*.md'], 'x/deep/er/readme.md', true],
  [['file?.txt'], 'file1.txt', true],
  [['file?.txt'], 'file10.txt', false],
  [['file?.txt'], 'file/.txt', false],
  [['v[0-9].tar'], 'v7.tar', true],
  [['v[0-9].tar'], 'vx.tar', false],
  [['v[^0-9].tar'], 'vx.tar', true],
  [['v[!0-9].tar'], 'v!.tar', true],
  [['.*'], '.env', true],
  [['.*'], 'env', false],
  [['a.b'], 'aXb', false],
  [['a+b(c)|{d}$'], 'a+b(c)|{d}$', true],
  [['lit\\*star'], 'lit*star', true],
  [['lit\\*star'], 'litXstar', false],
  [['back\\\\'], 'back\\', true],
  [['half]open'], 'half]open', true],
  [['**', '!keep/me'], 'keep/me/file', false],
  [['**', '!keep/me', 'keep/me/file'], 'keep/me/file', true],
  [['**', '!dist/*.whl'], 'dist/pkg-1.0+local-py3-none-any.whl', false],
  [['Dockerfile'], 'Dockerfile', true],
  [['*'], '.', false],
  [['Dockerfile'], 'sub/Dockerfile', false],
];

describe('Dockerignore', () => {
  for (const [patterns, path, excluded] of cases) {
    it(`${JSON.stringify(patterns)} ${excluded ? 'excludes' : 'keeps'} ${path}`, () => {
      assert.equal(new Dockerignore(patterns).matches(path), excluded);
    });
  }

  it('reads a file as ignorefile does: BOM, comments, blanks, spaces, leading slash, cleaning', () => {
    const text = '\uFEFF# a comment\n\n  node_modules  \n/abs/path\n./rel//x/\n! keep.txt\n  # not a comment\r\n!/also\n/\n';
    assert.deepEqual(readPatterns(text), ['node_modules', 'abs/path', 'rel/x', '!keep.txt', '# not a comment', '!also', '/']);
    assert.equal(Dockerignore.parse('/notes\n').matches('notes/x'), true);
  });

  it('refuses a lone "!" and malformed classes as patternmatcher does', () => {
    for (const bad of [['!'], ['['], ['a[]b'], ['a[-z]'], ['a[b-]'], ['x\\']]) {
      assert.throws(() => new Dockerignore(bad), (err) => isFault(err, 'invalid-argument'), JSON.stringify(bad));
    }
    assert.throws(() => new Dockerignore(['!']), /illegal exclusion pattern: "!"/);
  });

  it('refuses a class range in the wrong order with a Fault (not a plain Error)', () => {
    for (const bad of [['[z-a]'], ['a/[z-a]*'], ['!x[9-0]']]) {
      assert.throws(() => new Dockerignore(bad), (err) => isFault(err, 'invalid-argument'), JSON.stringify(bad));
    }
  });

  it('matches nested ** and runs of * in linear time', () => {
    const deep = 'a/'.repeat(30) + 'c';
    for (const pattern of ['**/a'.repeat(14) + 'b', '*' + '**/a'.repeat(14) + 'b', 'a*'.repeat(40) + 'b', '**/'.repeat(30) + '*b']) {
      const start = performance.now();
      assert.equal(new Dockerignore([pattern]).matches(deep), false, pattern);
      assert.ok(performance.now() - start < 1000, `${pattern}: ${Math.round(performance.now() - start)} ms`);
    }
  });

  it('follows the regular expression moby compiles, on any small pattern and path', () => {
    const atom = fc.constantFrom('a', 'b', '/', '*', '?', '**', '**/', '[ab]', '[^a]', '\\*');
    const path = fc.array(fc.constantFrom('a', 'b', '/', '*'), { minLength: 1, maxLength: 8 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.array(atom, { minLength: 1, maxLength: 6 }), path, (atoms, file) => {
        const pattern = atoms.join('');
        const clean = posix.normalize(pattern).replace(/(.)\/$/, '$1');
        if (clean.startsWith('/') || clean === '.' || clean.startsWith('..') || clean.startsWith('!')) return;
        const target = posix.normalize(file).replace(/(.)\/$/, '$1');
        if (target.startsWith('/') || target === '.' || target.startsWith('..')) return;
        assert.equal(new Dockerignore([pattern]).matches(target), mobyMatches(clean, target), `${pattern} on ${target}`);
      }),
      { numRuns: 2000 },
    );
  });
});

/** moby's patternmatcher on the atoms above, with its regular expression (short inputs: backtracking is harmless). */
function mobyMatches(pattern: string, file: string): boolean {
  const parents = file.split('/').slice(0, -1).map((_, i, dirs) => dirs.slice(0, i + 1).join('/'));
  const match = mobyPattern(pattern);
  return match(file) || parents.some(match);
}

function mobyPattern(pattern: string): (path: string) => boolean {
  let source = '';
  let type = 'exact';
  for (let i = 0; i < pattern.length; i++) {
    const first = i === 0;
    if (pattern.startsWith('**', i)) {
      i += pattern[i + 2] === '/' ? 2 : 1;
      if (i + 1 < pattern.length) (source += '(.*/)?'), (type = 'regexp');
      else if (type === 'exact') type = 'prefix';
      else (source += '.*'), (type = 'regexp');
      if (first) type = 'suffix';
    } else if (pattern[i] === '*' || pattern[i] === '?') (source += pattern[i] === '*' ? '[^/]*' : '[^/]'), (type = 'regexp');
    else if (pattern[i] === '\\') (source += `\\${pattern[++i]}`), (type = 'regexp');
    else if (pattern[i] === '[') {
      const end = pattern.indexOf(']', i);
      (source += pattern.slice(i, end + 1)), (i = end), (type = 'regexp');
    } else source += pattern[i];
  }
  if (type === 'exact') return (path) => path === pattern;
  if (type === 'prefix') return (path) => path.startsWith(pattern.slice(0, -2));
  const suffix = pattern.slice(2);
  if (type === 'suffix') return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
  const re = new RegExp(`^${source}$`);
  return (path) => re.test(path);
}
