import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { after, before, test } from 'node:test';
import { makeGitRepo, startGitDaemon, type GitRepo } from '../../../test/support/git-repo.ts';
import { runOk } from '../../../test/support/run.ts';
import { makeTempDir, type TempDir } from '../../../test/support/temp.ts';
import { archiveContext, fetchCommit, redactGitUrl, validateBranch, validateGitUrl, validateRepoPath } from './git-source.ts';

let temp: TempDir;
let repo: GitRepo;
let first: string;
let second: string;
let work = 0;
const fresh = () => {
  const dir = join(temp.path, `work-${++work}`);
  mkdirSync(dir);
  return dir;
};

before(async () => {
  temp = makeTempDir('wharf-git-source-');
  repo = await makeGitRepo(join(temp.path, 'repos', 'app'));
  first = await repo.commit({ 'app/Dockerfile': 'FROM scratch\n', 'app/a.txt': 'one\n' });
  second = await repo.commit({ 'app/a.txt': 'two\n' });
  await repo.commit({ 'x.txt': 'other branch\n' }, 'feature');
});
after(() => temp.remove());

test('only file, http, https, git and ssh URLs are accepted, without passwords', () => {
  for (const url of ['file:///srv/git/app', 'https://git.example/app.git', 'git://h/app', 'ssh://git@h/app']) assert.equal(validateGitUrl(url), url);
  for (const url of ['git@h:app.git', 'ext::sh -c touch% /tmp/x', '/srv/git/app', 'ftp://h/app', 'https://u:pw@h/app']) assert.throws(() => validateGitUrl(url), { kind: 'invalid-argument' });
  // A user part only on ssh (tokens hide there); no host or user that git or ssh would read as an option.
  for (const url of ['https://ghp_x@github.com/o/r.git', 'http://u@h/app', 'git://u@h/app', 'ssh://-oProxyCommand=x@h/app', 'ssh://-h/app', 'https://-h/app']) {
    assert.throws(() => validateGitUrl(url), { kind: 'invalid-argument' }, url);
  }
  assert.equal(redactGitUrl('ssh://deploy@h/app.git'), 'ssh://h/app.git');
  assert.equal(redactGitUrl('https://git.example/app.git'), 'https://git.example/app.git');
});

test('branches and paths are checked: no option-like, parent-escaping or absolute ones', () => {
  assert.equal(validateBranch('release/1.0'), 'release/1.0');
  for (const ref of ['-x', 'a..b', '', 'a b', 'x.lock']) assert.throws(() => validateBranch(ref));
  assert.equal(validateRepoPath('app/', 'context'), 'app');
  assert.equal(validateRepoPath('./', 'context'), '.');
  for (const path of ['/etc', '../x', 'a/../../b']) assert.throws(() => validateRepoPath(path, 'context'));
});

test("a fetch without a commit takes the branch's head; with one, that commit even when it is not the head", async () => {
  const url = `file://${repo.dir}`;
  assert.equal(await fetchCommit(fresh(), { url, ref: 'main' }), second);
  const dir = fresh();
  assert.equal(await fetchCommit(dir, { url, ref: 'main', commit: first }), first);
  assert.equal(await text(archiveContext(dir, first, 'app').stream).then((tar) => tar.includes('one\n')), true);
});

test('a commit that does not exist, a branch that does not exist and a context that is not a directory fail with git\'s reason', async () => {
  const url = `file://${repo.dir}`;
  await assert.rejects(fetchCommit(fresh(), { url, ref: 'main', commit: 'f'.repeat(40) }), /is not on main/);
  await assert.rejects(fetchCommit(fresh(), { url, ref: 'nope' }), /couldn't find remote ref|git fetch failed/);
  const dir = fresh();
  await fetchCommit(dir, { url, ref: 'main' });
  const archive = archiveContext(dir, second, 'missing');
  archive.stream.resume();
  await assert.rejects(archive.done, /git archive .* failed/);
});

test('the archive holds the context directory at its root', async () => {
  const dir = fresh();
  await fetchCommit(dir, { url: `file://${repo.dir}`, ref: 'main' });
  const archive = archiveContext(dir, second, 'app');
  const listing = await runOk('tar', ['-t'], { input: Buffer.from(await archive.stream.toArray().then((chunks) => Buffer.concat(chunks))) });
  await archive.done;
  assert.deepEqual(listing.trim().split('\n').sort(), ['Dockerfile', 'a.txt']);
});

test('git daemon serves the fetch (git://), by branch and by commit', async () => {
  const daemon = await startGitDaemon(join(temp.path, 'repos'));
  try {
    assert.equal(await fetchCommit(fresh(), { url: `${daemon.url}app`, ref: 'main' }), second);
    assert.equal(await fetchCommit(fresh(), { url: `${daemon.url}app`, ref: 'main', commit: first }), first);
  } finally {
    await daemon.close();
  }
});

test('an aborted fetch stops git at once', async () => {
  const abort = new AbortController();
  abort.abort(new Error('stop'));
  await assert.rejects(fetchCommit(fresh(), { url: `file://${repo.dir}`, ref: 'main', signal: abort.signal }));
});
