import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { runOk } from '../../../test/support/run.ts';
import { startStaticHttp, type StaticHttp } from '../../../test/support/static-http.ts';
import { makeTempDir, type TempDir } from '../../../test/support/temp.ts';
import { openBuildContext } from './build-context.ts';
import { parseGitRemote } from './git-context.ts';
import { isHttpUrl } from './http-get.ts';
import { isGitUrl } from './remote-context.ts';

describe('git remotes as moby reads them', () => {
  const detection: [string, 'git' | 'url' | 'neither'][] = [
    ['git://example.com/repo', 'git'],
    ['git@github.com:owner/repo.git', 'git'],
    ['github.com/owner/repo', 'git'],
    ['https://example.com/owner/repo.git', 'git'],
    ['http://example.com/repo.git#branch:dir', 'git'],
    ['https://example.com/repo.git/', 'url'],
    ['https://example.com/context.tar.gz', 'url'],
    ['https://example.com/repo.github', 'url'],
    ['ssh://example.com/repo.git', 'neither'],
    ['example.com/repo.git', 'neither'],
  ];
  for (const [remote, kind] of detection) {
    it(`takes ${remote} as ${kind}`, () => {
      assert.equal(isGitUrl(remote) ? 'git' : isHttpUrl(remote) ? 'url' : 'neither', kind);
    });
  }

  it('splits the fragment into ref and subdir, master by default', () => {
    assert.deepEqual(parseGitRemote('github.com/owner/repo'), { remote: 'https://github.com/owner/repo', ref: 'master', subdir: '' });
    assert.deepEqual(parseGitRemote('https://h/r.git#v1.0'), { remote: 'https://h/r.git', ref: 'v1.0', subdir: '' });
    assert.deepEqual(parseGitRemote('https://h/r.git#:docker'), { remote: 'https://h/r.git', ref: 'master', subdir: 'docker' });
    assert.deepEqual(parseGitRemote('https://h/r.git#pull/42/head:a/b'), { remote: 'https://h/r.git', ref: 'pull/42/head', subdir: 'a/b' });
    assert.deepEqual(parseGitRemote('https://h/r.git#my%20branch'), { remote: 'https://h/r.git', ref: 'my branch', subdir: '' });
    assert.deepEqual(parseGitRemote('git@github.com:o/r.git#dev:sub'), { remote: 'git@github.com:o/r.git', ref: 'dev', subdir: 'sub' });
    assert.throws(() => parseGitRemote('https://h/r.git#-upload-pack=x'), (err) => isFault(err, 'invalid-argument') && err.message === 'invalid refspec: -upload-pack=x');
  });
});

describe('git build contexts over dumb HTTP', () => {
  let temp: TempDir;
  let server: StaticHttp;
  let repo: string;
  let firstCommit: string;
  let workDir: string;

  const git = (cwd: string, ...args: string[]) =>
    runOk('git', ['-c', 'user.name=wharf', '-c', 'user.email=wharf@example.com', '-c', 'protocol.file.allow=always', ...args], { cwd });

  /** A bare repository served as static files, as `git update-server-info` makes it fetchable. */
  async function publish(work: string, name: string): Promise<string> {
    await runOk('git', ['clone', '-q', '--bare', work, join(temp.path, 'www', name)]);
    await runOk('git', ['update-server-info'], { cwd: join(temp.path, 'www', name) });
    return `${server.url}/${name}`;
  }

  function write(dir: string, files: Record<string, string>): void {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  }

  before(async () => {
    temp = makeTempDir('wharf-git-context-');
    workDir = join(temp.path, 'work');
    mkdirSync(join(temp.path, 'www'));
    server = await startStaticHttp(join(temp.path, 'www'));
    const lib = join(temp.path, 'lib');
    mkdirSync(lib);
    await git(lib, 'init', '-q', '-b', 'master');
    write(lib, { 'lib.txt': 'from the submodule\n' });
    await git(lib, 'add', '.');
    await git(lib, 'commit', '-qm', 'lib');
    const libUrl = await publish(lib, 'lib.git');

    const work = join(temp.path, 'app');
    mkdirSync(work);
    await git(work, 'init', '-q', '-b', 'master');
    write(work, { Dockerfile: 'FROM one\n', 'docker/Dockerfile': 'FROM sub\n', 'docker/file.txt': 'x' });
    await git(work, 'add', '.');
    await git(work, 'commit', '-qm', 'one');
    firstCommit = (await git(work, 'rev-parse', 'HEAD')).trim();
    await git(work, 'tag', 'v1');
    write(work, { Dockerfile: 'FROM two\n', '.dockerignore': '*.log\n.dockerignore\n', 'debug.log': 'l', 'docker/Dockerfile': 'FROM sub two\n' });
    await git(work, 'submodule', 'add', '-q', libUrl, 'vendor/lib');
    await git(work, 'add', '.');
    await git(work, 'commit', '-qm', 'two');
    await git(work, 'checkout', '-q', '-b', 'feature');
    write(work, { 'docker/Dockerfile': 'FROM feature\n' });
    await git(work, 'commit', '-qam', 'feature');
    await git(work, 'checkout', '-q', 'master');
    repo = await publish(work, 'app.git');
  });
  after(async () => {
    await server.close();
    temp.remove();
  });

  const open = (remote: string) => openBuildContext({ body: Readable.from([]), remote, workDir });

  async function dockerfileAndFiles(remote: string): Promise<[string, string[]]> {
    const ctx = await open(remote);
    try {
      return [readFileSync(ctx.dockerfile, 'utf8'), readdirSync(ctx.dir).sort()];
    } finally {
      await ctx.dispose();
      assert.deepEqual(readdirSync(workDir), [], 'dispose removes the clone');
    }
  }

  it('clones master by default, with submodules; .dockerignore removes only the build files it lists (moby)', async () => {
    const ctx = await open(repo);
    try {
      assert.equal(readFileSync(ctx.dockerfile, 'utf8'), 'FROM two\n');
      assert.deepEqual(readdirSync(ctx.dir).sort(), ['.git', '.gitmodules', 'Dockerfile', 'debug.log', 'docker', 'vendor']);
      assert.equal(readFileSync(join(ctx.dir, 'vendor/lib/lib.txt'), 'utf8'), 'from the submodule\n');
    } finally {
      await ctx.dispose();
    }
    assert.deepEqual(readdirSync(workDir), []);
  });

  it('checks out a tag, a commit, a branch and a subdirectory', async () => {
    assert.deepEqual(await dockerfileAndFiles(`${repo}#v1`), ['FROM one\n', ['.git', 'Dockerfile', 'docker']]);
    assert.deepEqual((await dockerfileAndFiles(`${repo}#${firstCommit}`))[0], 'FROM one\n');
    assert.deepEqual(await dockerfileAndFiles(`${repo}#feature:docker`), ['FROM feature\n', ['Dockerfile', 'file.txt']]);
    assert.deepEqual(await dockerfileAndFiles(`${repo}#:docker`), ['FROM sub two\n', ['Dockerfile', 'file.txt']]);
    assert.deepEqual(await dockerfileAndFiles(`${repo}#v1:docker`), ['FROM sub\n', ['Dockerfile', 'file.txt']]);
  });

  it('refuses refs that do not exist and subdirs outside the clone, cleaning up', async () => {
    await assert.rejects(open(`${repo}#nope`), (err) => isFault(err, 'invalid-argument') && /^error fetching: .*couldn't find remote ref nope/s.test(err.message));
    await assert.rejects(open(`${repo}#master:../..`), { message: 'error setting git context, "../.." not within git root' });
    await assert.rejects(open(`${repo}#master:missing`), { message: 'stat missing: no such file or directory' });
    await assert.rejects(open(`${repo}#master:Dockerfile`), { message: 'error setting git context, not a directory: Dockerfile' });
    await assert.rejects(open(`${server.url}/absent.git`), (err) => isFault(err) && /^error fetching: /.test(err.message));
    assert.deepEqual(existsSync(workDir) ? readdirSync(workDir) : [], []);
  });

  it('stops git and removes the clone when the request is aborted', async () => {
    const controller = new AbortController();
    const asked = server.requests.length;
    const opening = openBuildContext({ body: Readable.from([]), remote: repo, workDir, signal: controller.signal });
    // Aborted once git has begun fetching (its first request), not after a fixed time a fast clone could beat.
    const watch = setInterval(() => {
      if (server.requests.length > asked) controller.abort(new Error('client went away'));
    }, 2);
    try {
      await assert.rejects(opening, (err: Error) => err.name === 'AbortError' || err.message === 'client went away');
    } finally {
      clearInterval(watch);
    }
    assert.deepEqual(readdirSync(workDir), []);
  });

  it('refuses file:// submodules, as moby blocks them', async () => {
    const sneaky = join(temp.path, 'sneaky');
    mkdirSync(sneaky);
    await git(sneaky, 'init', '-q', '-b', 'master');
    write(sneaky, { Dockerfile: 'FROM x\n' });
    await git(sneaky, 'submodule', 'add', '-q', `file://${join(temp.path, 'lib')}`, 'host');
    await git(sneaky, 'add', '.');
    await git(sneaky, 'commit', '-qm', 'sneaky');
    const url = await publish(sneaky, 'sneaky.git');
    await assert.rejects(open(url), (err) => isFault(err) && /^error initializing submodules: .*transport 'file' not allowed/s.test(err.message));
    assert.deepEqual(readdirSync(workDir), []);
  });
});
