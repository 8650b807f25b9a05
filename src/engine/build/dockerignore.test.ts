import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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

  it('gives the same verdicts walking down from the root with parent results', () => {
    for (const [patterns, path, excluded] of cases) {
      if (path === '.') continue;
      const ignore = new Dockerignore(patterns);
      let parent: ReturnType<Dockerignore['matchesUnder']> | undefined;
      const parts = path.split('/');
      for (let i = 1; i <= parts.length; i++) parent = ignore.matchesUnder(parts.slice(0, i).join('/'), parent?.matches);
      assert.equal(parent!.excluded, excluded, `${JSON.stringify(patterns)} on ${path}`);
    }
  });

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

  it('says when an exception names something under a directory', () => {
    const ignore = new Dockerignore(['docs', '!docs/api/index.md']);
    assert.equal(ignore.reincludesUnder('docs'), true);
    assert.equal(ignore.reincludesUnder('docs/api'), true);
    assert.equal(ignore.reincludesUnder('docs/guide'), false);
    assert.equal(new Dockerignore(['docs']).reincludesUnder('docs'), false);
  });
});
