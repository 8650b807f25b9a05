import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConfigInput } from '../../src/base/config.ts';
import { openMeta } from '../../src/main/open-meta.ts';
import { loadConfig } from '../../src/base/config.ts';
import type { BuildRow } from '../../src/web/api-types.ts';
import { buildBusyboxRootfsTar } from '../support/busybox.ts';
import { makeGitRepo, startGitDaemon, type GitDaemon, type GitRepo } from '../support/git-repo.ts';
import { runDocker } from './engine-harness.ts';
import { freePort, waitFor } from '../support/ports.ts';
import { run } from '../support/run.ts';
import { skopeoInspect } from '../support/skopeo.ts';
import { removeTestNetworking, testNetworkConfig } from '../support/test-network.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

/**
 * Automated builds end to end: a git repository in a temp dir (file:// and git daemon), a whole wharf in-process
 * (registry + engine with runc), builds queued by the API, the CLI and signed webhooks, the image pulled back from
 * the registry with skopeo under both tags.
 */

const dockerfile = 'FROM scratch\nCOPY hello.txt /hello.txt\n';

interface Harness {
  root: string;
  wharf: TestWharf;
  socket: string;
  close(): Promise<void>;
}

async function startHarness(config: ConfigInput = {}, root = mkdtempSync(join(tmpdir(), 'wharf-autobuild-'))): Promise<Harness> {
  const socket = join(root, 'engine.sock');
  const wharf = await startTestWharf({
    root,
    parts: ['registry', 'engine'],
    config: { ...config, engine: { socket, network: testNetworkConfig(root), ...config.engine } },
  });
  return {
    root,
    wharf,
    socket,
    close: async () => {
      await wharf.close();
    },
  };
}

const engineEnv = (h: Harness) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: h.root, DOCKER_HOST: `unix://${h.socket}`, DOCKER_CONFIG: join(h.root, 'docker-config') });

async function docker(h: Harness, args: string[]): Promise<string> {
  const result = await runDocker(args, engineEnv(h));
  assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function importBusybox(h: Harness): Promise<void> {
  await docker(h, ['import', await buildBusyboxRootfsTar(h.root), 'busybox']);
}

/**
 * busybox pushed to this wharf's registry as `<host>/base/busybox`, which anonymous callers may pull (builds pull
 * their bases with no credentials); answers that name for FROM.
 */
async function publishBusybox(h: Harness): Promise<string> {
  const name = `${h.wharf.host}/base/busybox`;
  await importBusybox(h);
  await docker(h, ['tag', 'busybox', name]);
  await docker(h, ['push', name]);
  return name;
}

/** Build sources checked out for a build (`<root>/hub/builds/tmp/<id>`): none may stay once it ended. */
const leftSources = (root: string) => readdirSync(join(root, 'hub', 'builds', 'tmp'), { withFileTypes: true }).map((entry) => entry.name);

/** A notification endpoint: the events wharf posts to it. */
async function startReceiver(): Promise<{ url: string; events: { action: string; target: { repository?: string; tag?: string }; actor?: { name?: string } }[]; server: Server }> {
  const events: { action: string; target: { repository?: string; tag?: string }; actor?: { name?: string } }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      events.push(...(JSON.parse(body) as { events: typeof events }).events);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/events`, events, server };
}

async function waitState(wharf: TestWharf, id: string, state: string): Promise<void> {
  await waitFor(`build ${id} ${state}`, async () => ((await (await api(wharf, `/builds/${id}`)).json()) as BuildRow).state === state, 60_000);
}

async function cleanRoot(root: string): Promise<void> {
  await removeTestNetworking(root);
  rmSync(root, { recursive: true, force: true });
}

/** Runs `body` on a root of its own, removed afterwards (with its test networking). */
async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'wharf-autobuild-'));
  try {
    await body(root);
  } finally {
    await cleanRoot(root);
  }
}

/** Runs `body` against a wharf on `root`, stopped afterwards; the root stays (a restart starts another on it). */
async function withHarness(root: string, config: ConfigInput, body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness(config, root);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

async function cli(root: string, args: string[], input?: string): Promise<string> {
  const result = await run(wharfBin, [...args, '--root', root], { timeoutMs: 60_000, input });
  assert.equal(result.code, 0, `wharf ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function addAutobuild(root: string, repository: string, git: string, extra: string[] = []): Promise<{ id: string; hook: string; secret: string }> {
  const out = await cli(root, ['autobuild', 'add', repository, '--git', git, ...extra]);
  const id = /^autobuild ([0-9a-f]{16}):/m.exec(out)?.[1];
  const hook = /^webhook URL: (\S+)$/m.exec(out)?.[1];
  const secret = /^webhook secret: ([0-9a-f]+)$/m.exec(out)?.[1];
  assert.ok(id && hook && secret, out);
  return { id, hook, secret };
}

const api = (wharf: TestWharf, path: string, init?: RequestInit) => fetch(`${wharf.url}/api/v1${path}`, init);

async function buildNow(wharf: TestWharf, autobuild: string): Promise<BuildRow> {
  const res = await api(wharf, `/autobuilds/${autobuild}/builds`, { method: 'POST' });
  assert.equal(res.status, 202, await res.clone().text());
  return (await res.json()) as BuildRow;
}

async function waitBuild(wharf: TestWharf, id: string, timeoutMs = 120_000): Promise<BuildRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await (await api(wharf, `/builds/${id}`)).json()) as BuildRow;
    if (row.state === 'succeeded' || row.state === 'failed') return row;
    if (Date.now() > deadline) throw new Error(`build ${id} still ${row.state}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The build once it ended, asserted succeeded (else its error is the message). */
async function waitSucceeded(wharf: TestWharf, id: string): Promise<BuildRow> {
  const done = await waitBuild(wharf, id);
  assert.equal(done.state, 'succeeded', done.error ?? '');
  return done;
}

async function log(wharf: TestWharf, id: string): Promise<string> {
  const res = await api(wharf, `/builds/${id}/log`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(Number(res.headers.get('x-log-next-offset')), Buffer.byteLength(await res.clone().text()));
  return res.text();
}

function githubPush(hook: string, secret: string, commit: string, ref = 'refs/heads/main', sign = true): Promise<Response> {
  const body = JSON.stringify({ ref, after: commit, repository: { clone_url: 'file:///nonexistent' } });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': 'push' };
  if (sign) headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return fetch(hook, { method: 'POST', headers, body });
}

describe('automated builds on a wharf with an engine', { concurrency: false }, () => {
  let h: Harness;
  let sources: string;
  let repo: GitRepo;
  let head: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    receiver = await startReceiver();
    h = await startHarness({
      hub: { builds: { perRepository: 1, concurrency: 2 } },
      registry: { notifications: { endpoints: [{ name: 'hook', url: receiver.url, backoff: '100ms' }] } },
    });
    sources = mkdtempSync(join(tmpdir(), 'wharf-autobuild-git-'));
    repo = await makeGitRepo(join(sources, 'app'));
    head = await repo.commit({ Dockerfile: dockerfile, 'hello.txt': 'hello from git\n' });
  });
  after(async () => {
    await h?.close();
    const left = leftSources(h.root);
    await cleanRoot(h.root);
    rmSync(sources, { recursive: true, force: true });
    receiver.server.close();
    assert.deepEqual(left, [], 'every build removed its checkout');
  });

  test('`autobuild add` prints the webhook URL and secret; "Build now" builds the head and pushes REPO:TAG and REPO:<short sha>', async () => {
    const { id, hook } = await addAutobuild(h.root, 'team/app', `file://${repo.dir}`);
    assert.equal(hook, `http://127.0.0.1:5000/api/v1/hooks/${id}`, 'the CLI names registry.addr (its default here) when no publicUrl is set');
    const listed = await cli(h.root, ['autobuild', 'list']);
    assert.match(listed, new RegExp(`^${id}\tteam/app\tlatest\tfile://`, 'm'));
    const autobuilds = (await (await api(h.wharf, '/autobuilds?repository=team/app')).json()) as { autobuilds: { id: string; webhookUrl: string; secret?: string }[] };
    assert.deepEqual(autobuilds.autobuilds.map((a) => [a.id, a.webhookUrl, a.secret]), [[id, `${h.wharf.url}/api/v1/hooks/${id}`, undefined]]);

    const queued = await buildNow(h.wharf, id);
    assert.equal(queued.trigger, 'api');
    const done = await waitSucceeded(h.wharf, queued.id);
    assert.equal(done.commit, head);
    assert.deepEqual(done.tags, ['team/app:latest', `team/app:${head.slice(0, 12)}`]);
    const text = await log(h.wharf, queued.id);
    assert.match(text, /Step 1\/2 : FROM scratch/);
    assert.match(text, new RegExp(`Pushed team/app:latest ${done.digest}`));
    for (const tag of ['latest', head.slice(0, 12)]) {
      const inspected = await skopeoInspect(`docker://${h.wharf.host}/team/app:${tag}`);
      assert.equal(inspected.Digest, done.digest);
      assert.equal((inspected.Layers as string[]).length, 1);
    }
    assert.ok(existsSync(join(h.root, 'hub', 'builds', `${queued.id}.log`)));
    const listedBuilds = (await (await api(h.wharf, '/builds?repository=team/app')).json()) as { builds: BuildRow[]; next: string | null };
    assert.deepEqual(listedBuilds.builds.map((b) => b.id), [queued.id]);
    assert.equal(listedBuilds.next, null);
  });

  test('a signed GitHub push queues a build of the pushed commit; unsigned, wrongly signed or another branch queue nothing', async () => {
    const { id, hook, secret } = await addAutobuild(h.root, 'team/hooked', `file://${repo.dir}`, ['--tag', 'edge']);
    const url = `${h.wharf.url}/api/v1/hooks/${id}`;
    assert.ok(hook.endsWith(`/api/v1/hooks/${id}`));
    assert.equal((await githubPush(url, secret, head, 'refs/heads/main', false)).status, 401);
    assert.equal((await githubPush(url, 'wrong', head)).status, 403);
    const other = await githubPush(url, secret, head, 'refs/heads/feature');
    assert.equal(other.status, 200);
    assert.match(((await other.json()) as { ignored: string }).ignored, /not refs\/heads\/main/);
    assert.deepEqual(((await (await api(h.wharf, '/builds?repository=team/hooked')).json()) as { builds: unknown[] }).builds, []);

    const res = await githubPush(url, secret, head);
    assert.equal(res.status, 202);
    const build = (await res.json()) as BuildRow;
    assert.equal(build.trigger, 'webhook');
    assert.equal(build.commit, head);
    const done = await waitSucceeded(h.wharf, build.id);
    assert.deepEqual(done.tags, ['team/hooked:edge', `team/hooked:${head.slice(0, 12)}`]);
    // The activity log writes in batches (about a second).
    await waitFor('the push in the activity log', async () => {
      const activity = (await (await api(h.wharf, '/activity?repository=team/hooked')).json()) as { events: { action: string; actor: string; tag: string | null }[] };
      return activity.events.some((e) => e.action === 'push' && e.actor === 'autobuild' && e.tag === 'edge');
    }, 10_000);
    // And to the notification endpoints (registry.notifications), as actor autobuild.
    await waitFor('the push at the notification endpoint', async () =>
      receiver.events.some((e) => e.action === 'push' && e.target.repository === 'team/hooked' && e.target.tag === 'edge' && e.actor?.name === 'autobuild'), 10_000);
  });

  test('Gitea and GitLab pushes are checked with their own headers', async () => {
    const { id, secret } = await addAutobuild(h.root, 'team/forge', `file://${repo.dir}`);
    const url = `${h.wharf.url}/api/v1/hooks/${id}`;
    const body = JSON.stringify({ ref: 'refs/heads/main', after: head, checkout_sha: head });
    const gitea = (signature: string) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-gitea-event': 'push', 'x-gitea-signature': signature } });
    const gitlab = (token: string) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token } });
    assert.equal((await gitea(createHmac('sha256', 'nope').update(body).digest('hex'))).status, 403);
    assert.equal((await gitlab('nope')).status, 403);
    const first = await gitea(createHmac('sha256', secret).update(body).digest('hex'));
    assert.equal(first.status, 202);
    // The same commit again once that build ended (while it is queued or running, a delivery is ignored).
    assert.equal((await waitBuild(h.wharf, ((await first.json()) as BuildRow).id)).state, 'succeeded');
    const second = await gitlab(secret);
    assert.equal(second.status, 202);
    assert.equal((await waitBuild(h.wharf, ((await second.json()) as BuildRow).id)).state, 'succeeded');
    const form = await fetch(url, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain', 'x-github-event': 'push' } });
    assert.equal(form.status, 415);
  });

  test('a failing Dockerfile fails the build and keeps its log', async () => {
    const broken = await makeGitRepo(join(sources, 'broken'));
    await broken.commit({ Dockerfile: 'FROM scratch\nCOPY missing.txt /\n' });
    const { id } = await addAutobuild(h.root, 'team/broken', `file://${broken.dir}`);
    const done = await waitBuild(h.wharf, (await buildNow(h.wharf, id)).id);
    assert.equal(done.state, 'failed');
    assert.match(done.error ?? '', /missing\.txt/);
    const text = await log(h.wharf, done.id);
    assert.match(text, /Step 2\/2 : COPY missing.txt/);
    assert.match(text, /ERROR: .*missing\.txt/);
    assert.deepEqual(done.tags, []);
  });

  test("a context that is not a directory of the commit fails with git's reason; a push over the quota fails the build", async () => {
    const { id } = await addAutobuild(h.root, 'team/nocontext', `file://${repo.dir}`, ['--context', 'nope']);
    const done = await waitBuild(h.wharf, (await buildNow(h.wharf, id)).id);
    assert.equal(done.state, 'failed');
    assert.match(done.error ?? '', /git archive [0-9a-f]{40}:nope failed/);
    await cli(h.root, ['quota', 'set', 'tiny', '10']);
    const quota = await addAutobuild(h.root, 'tiny/app', `file://${repo.dir}`);
    const refused = await waitBuild(h.wharf, (await buildNow(h.wharf, quota.id)).id);
    assert.equal(refused.state, 'failed');
    assert.match(refused.error ?? '', /quota/i);
    assert.equal((await fetch(`${h.wharf.url}/v2/tiny/app/manifests/latest`)).status, 404);
  });

  test('a second push while a build runs is queued and built after it, at its own commit', async () => {
    const busy = await makeGitRepo(join(sources, 'busy'));
    const one = await busy.commit({ Dockerfile: dockerfile, 'hello.txt': 'one\n' });
    const two = await busy.commit({ 'hello.txt': 'two\n' });
    const { id, secret } = await addAutobuild(h.root, 'team/busy', `file://${busy.dir}`);
    const url = `${h.wharf.url}/api/v1/hooks/${id}`;
    const first = (await (await githubPush(url, secret, one)).json()) as BuildRow;
    const second = (await (await githubPush(url, secret, two)).json()) as BuildRow;
    const [a, b] = [await waitBuild(h.wharf, first.id), await waitBuild(h.wharf, second.id)];
    assert.deepEqual([a.state, b.state], ['succeeded', 'succeeded']);
    assert.ok(b.startedAt && a.finishedAt && b.startedAt >= a.finishedAt, 'one at a time per repository');
    assert.deepEqual([a.commit, b.commit], [one, two]);
    assert.equal((await skopeoInspect(`docker://${h.wharf.host}/team/busy:latest`)).Digest, b.digest);
    assert.equal((await skopeoInspect(`docker://${h.wharf.host}/team/busy:${one.slice(0, 12)}`)).Digest, a.digest);
  });

  test('git daemon (git://) serves the repository; a subdirectory context and another Dockerfile path build', async () => {
    const daemon: GitDaemon = await startGitDaemon(sources);
    try {
      const nested = await makeGitRepo(join(sources, 'nested'));
      const commit = await nested.commit({ 'svc/build/App.dockerfile': 'FROM scratch\nCOPY data.txt /data.txt\n', 'svc/data.txt': 'nested\n' });
      const { id } = await addAutobuild(h.root, 'team/nested', `${daemon.url}nested`, ['--context', 'svc', '--dockerfile', 'build/App.dockerfile']);
      const done = await waitSucceeded(h.wharf, (await buildNow(h.wharf, id)).id);
      assert.equal(done.commit, commit);
    } finally {
      await daemon.close();
    }
  });

  test('a RUN step runs in a container from a base image pulled from the registry (busybox); the engine keeps no tag of the build', async () => {
    const base = await publishBusybox(h);
    const withRun = await makeGitRepo(join(sources, 'run'));
    await withRun.commit({ Dockerfile: `FROM ${base}\nRUN echo built-by-run > /built.txt\n` });
    const { id } = await addAutobuild(h.root, 'team/run', `file://${withRun.dir}`);
    const done = await waitBuild(h.wharf, (await buildNow(h.wharf, id)).id);
    assert.equal(done.state, 'succeeded', `${done.error}\n${await log(h.wharf, done.id)}`);
    assert.match(await log(h.wharf, done.id), /Running in [0-9a-f]{12}/);
    const inspected = await skopeoInspect(`docker://${h.wharf.host}/team/run:latest`);
    assert.equal((inspected.Layers as string[]).length, 2);
    assert.match(await log(h.wharf, done.id), /Pulling from base\/busybox/, 'FROM pulled (pull=1), not taken from the engine');
    const images = await docker(h, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.doesNotMatch(images, /wharf-autobuild|team\/run/, 'the throwaway tag was removed and no registry name was tagged on the engine');
  });

  test('`autobuild build` queues from the CLI; `autobuild rm` removes the autobuild, its builds and logs', async () => {
    const { id } = await addAutobuild(h.root, 'team/cli', `file://${repo.dir}`);
    const out = await cli(h.root, ['autobuild', 'build', id]);
    const build = /^build ([0-9a-f]{16}) queued/m.exec(out)?.[1];
    assert.ok(build, out);
    const done = await waitSucceeded(h.wharf, build);
    assert.equal(done.trigger, 'cli');
    await cli(h.root, ['autobuild', 'rm', id]);
    assert.equal((await api(h.wharf, `/builds/${build}`)).status, 404);
    assert.equal(existsSync(join(h.root, 'hub', 'builds', `${build}.log`)), false);
    assert.equal((await api(h.wharf, `/autobuilds/${id}/builds`, { method: 'POST' })).status, 404);
  });

  test('bad input answers 400 with the registry codes', async () => {
    assert.equal((await api(h.wharf, '/builds?repository=Bad..Name')).status, 400);
    assert.equal(((await (await api(h.wharf, '/builds?repository=Bad..Name')).json()) as { errors: { code: string }[] }).errors[0].code, 'NAME_INVALID');
    assert.equal((await api(h.wharf, '/builds?n=101')).status, 400);
    assert.equal((await api(h.wharf, '/builds/xyz')).status, 400);
    assert.equal((await api(h.wharf, `/builds/${'0'.repeat(16)}`)).status, 404);
    const refused = await run(wharfBin, ['autobuild', 'add', 'team/x', '--git', 'git@host:x.git', '--root', h.root]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /scp-like/);
    const badTag = await run(wharfBin, ['autobuild', 'add', 'team/x', '--git', 'file:///x', '--tag', '-bad', '--root', h.root]);
    assert.match(badTag.stderr, /invalid tag/);
  });
});

describe('automated builds across a restart, a bounded queue and no engine', { concurrency: false }, () => {
  let sources: string;
  let repo: GitRepo;

  before(async () => {
    sources = mkdtempSync(join(tmpdir(), 'wharf-autobuild-git-'));
    repo = await makeGitRepo(join(sources, 'app'));
    await repo.commit({ Dockerfile: dockerfile, 'hello.txt': 'hello\n' });
  });
  after(() => rmSync(sources, { recursive: true, force: true }));

  test('the queue per repository is bounded: beyond it 429 with Retry-After and nothing recorded', async () => {
    await withRoot((root) => withHarness(root, { hub: { builds: { enabled: false, queuePerRepository: 2 } } }, async (h) => {
      const { id, secret } = await addAutobuild(h.root, 'team/full', `file://${repo.dir}`);
      await buildNow(h.wharf, id);
      await buildNow(h.wharf, id);
      const refused = await api(h.wharf, `/autobuilds/${id}/builds`, { method: 'POST' });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '60');
      assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0].code, 'TOOMANYREQUESTS');
      assert.equal((await githubPush(`${h.wharf.url}/api/v1/hooks/${id}`, secret, 'c'.repeat(40))).status, 429);
      const listed = (await (await api(h.wharf, '/builds?repository=team/full')).json()) as { builds: BuildRow[] };
      assert.deepEqual(listed.builds.map((b) => b.state), ['queued', 'queued']);
    }));
  });

  test('after a restart a build left running is failed (its log says why) and a queued one runs', async () => {
    await withRoot(async (root) => {
      // What a registry killed during a build leaves: one build running with a stale heartbeat, one queued.
      const stores = await openMeta(loadConfig({ overrides: { root } }));
      let running: string;
      let queued: string;
      try {
        await stores.builds.addAutobuild({ id: 'a'.repeat(16), repository: 'team/restart', git: `file://${repo.dir}`, ref: 'main', dockerfile: 'Dockerfile', context: '.', tag: 'latest', secret: 's', createdAt: new Date().toISOString() });
        const old = new Date(Date.now() - 5 * 60_000).toISOString();
        running = (await stores.builds.queueBuild({ id: '1'.repeat(16), autobuildId: 'a'.repeat(16), ref: 'main', trigger: 'api', queuedAt: old }, 10))!.id;
        await stores.builds.claimNext(1, old);
        queued = (await stores.builds.queueBuild({ id: '2'.repeat(16), autobuildId: 'a'.repeat(16), ref: 'main', trigger: 'api', queuedAt: old }, 10))!.id;
        mkdirSync(join(root, 'hub', 'builds'), { recursive: true });
      } finally {
        await stores.close();
      }
      await withHarness(root, {}, async (h) => {
        const failed = await waitBuild(h.wharf, running);
        assert.equal(failed.state, 'failed');
        assert.equal(failed.error, 'interrupted: wharf stopped during the build');
        assert.match(await log(h.wharf, running), /ERROR: interrupted: wharf stopped during the build/);
        await waitSucceeded(h.wharf, queued);
      });
    });
  });

  test('a wharf stopped during a build fails it with the reason; the push queued behind it runs after the restart', async () => {
    await withRoot(async (root) => {
      let running = '';
      let queued = '';
      // One address across the restart: the queued build pulls its base from it then.
      const config: ConfigInput = { registry: { addr: `127.0.0.1:${await freePort()}` } };
      await withHarness(root, config, async (h) => {
        const base = await publishBusybox(h);
        const slow = await makeGitRepo(join(sources, 'slow'));
        const one = await slow.commit({ Dockerfile: `FROM ${base}\nRUN sleep 60\n` });
        const two = await slow.commit({ Dockerfile: `FROM ${base}\nRUN echo quick > /q\n` });
        const { id, secret } = await addAutobuild(root, 'team/slow', `file://${slow.dir}`);
        const url = `${h.wharf.url}/api/v1/hooks/${id}`;
        running = ((await (await githubPush(url, secret, one)).json()) as BuildRow).id;
        await waitState(h.wharf, running, 'running');
        await waitFor('the RUN step', async () => (await log(h.wharf, running)).includes('Running in'), 60_000);
        queued = ((await (await githubPush(url, secret, two)).json()) as BuildRow).id;
        assert.equal(((await (await api(h.wharf, `/builds/${queued}`)).json()) as BuildRow).state, 'queued');
      });
      // A checkout a killed process left behind: the runner removes it when it starts.
      const stale = join(root, 'hub', 'builds', 'tmp', 'f'.repeat(16));
      mkdirSync(stale, { recursive: true });
      writeFileSync(join(stale, 'HEAD'), 'ref: refs/heads/main\n');
      await withHarness(root, config, async (h) => {
        assert.equal(existsSync(stale), false, 'the stale checkout was removed at start');
        // wharf stops its engine before its registry: the build sees the engine go, or the registry's own stop.
        const failed = (await (await api(h.wharf, `/builds/${running}`)).json()) as BuildRow;
        assert.equal(failed.state, 'failed');
        const why = /^(interrupted: wharf stopped during the build|the engine stopped during the build \(.*\))$/;
        assert.match(failed.error ?? '', why);
        assert.match(await log(h.wharf, running), new RegExp(`ERROR: ${why.source.slice(1, -1)}`));
        await waitSucceeded(h.wharf, queued);
      });
      assert.deepEqual(leftSources(root), []);
    });
  });

  test('a build running past hub.builds.timeoutSeconds fails with that reason', async () => {
    await withRoot((root) => withHarness(root, { hub: { builds: { timeoutSeconds: 10 } } }, async (h) => {
      const base = await publishBusybox(h);
      const slow = await makeGitRepo(join(sources, 'timeout'));
      await slow.commit({ Dockerfile: `FROM ${base}\nRUN sleep 120\n` });
      const { id } = await addAutobuild(h.root, 'team/timeout', `file://${slow.dir}`);
      const started = Date.now();
      const done = await waitBuild(h.wharf, (await buildNow(h.wharf, id)).id);
      assert.equal(done.state, 'failed');
      assert.match(done.error ?? '', /timed out after 10 s \(hub\.builds\.timeoutSeconds\)/);
      assert.ok(Date.now() - started < 60_000);
      assert.match(await log(h.wharf, done.id), /ERROR: timed out/);
      assert.deepEqual(leftSources(h.root), []);
      assert.equal((await fetch(`${h.wharf.url}/v2/team/timeout/manifests/latest`)).status, 404, 'a build that timed out publishes nothing');
    }));
  });

  test("a base image anonymous callers may not pull fails the build and publishes nothing, even when the engine has it", async () => {
    await withRoot(async (root) => {
      await cli(root, ['user', 'add', 'boss', '--admin', '--password-stdin'], 's3cret-pass\n');
      await withHarness(root, { auth: { mode: 'htpasswd', anonymousPull: false } }, async (h) => {
        // Another repository's private image, in the engine's store (as a push or pull through it leaves it).
        const secret = `${h.wharf.host}/private/img`;
        await importBusybox(h);
        await docker(h, ['tag', 'busybox', secret]);
        const source = await makeGitRepo(join(sources, 'steal'));
        await source.commit({ Dockerfile: `FROM ${secret}\nRUN echo stolen > /s\n` });
        const { id } = await addAutobuild(root, 'team/steal', `file://${source.dir}`);
        const build = /^build ([0-9a-f]{16}) queued/m.exec(await cli(root, ['autobuild', 'build', id]))?.[1];
        assert.ok(build);
        const authorization = `Basic ${Buffer.from('boss:s3cret-pass').toString('base64')}`;
        const read = async (path: string) => api(h.wharf, path, { headers: { authorization } });
        let row: BuildRow | undefined;
        await waitFor('the build ended', async () => {
          row = (await (await read(`/builds/${build}`)).json()) as BuildRow;
          return row.state === 'succeeded' || row.state === 'failed';
        }, 120_000);
        assert.equal(row?.state, 'failed');
        const text = await (await read(`/builds/${build}/log`)).text();
        assert.match(text, /ERROR: .*(unauthorized|denied|authentication required)/i, text);
        assert.deepEqual(row?.tags, []);
        const tags = await fetch(`${h.wharf.url}/v2/team/steal/tags/list`, { headers: { authorization } });
        assert.equal(tags.status, 404, 'nothing published');
      });
    });
  });

  test('a build whose log passes hub.builds.logMaxBytes stops writing it and fails', async () => {
    await withRoot((root) => withHarness(root, { hub: { builds: { logMaxBytes: 1024 * 1024 } } }, async (h) => {
      const base = await publishBusybox(h);
      const chatty = await makeGitRepo(join(sources, 'chatty'));
      await chatty.commit({ Dockerfile: `FROM ${base}\nRUN yes 0123456789abcdef0123456789abcdef | head -c 3000000\n` });
      const { id } = await addAutobuild(h.root, 'team/chatty', `file://${chatty.dir}`);
      const done = await waitBuild(h.wharf, (await buildNow(h.wharf, id)).id);
      assert.equal(done.state, 'failed');
      assert.equal(done.error, 'log limit reached (1 MiB)');
      const size = readFileSync(join(h.root, 'hub', 'builds', `${done.id}.log`)).length;
      assert.ok(size >= 1024 * 1024 && size < 1024 * 1024 + 200, `log of ${size} bytes`);
      assert.equal((await fetch(`${h.wharf.url}/v2/team/chatty/manifests/latest`)).status, 404);
    }));
  });

  test('with no engine reachable a build fails and its log says so', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wharf-autobuild-'));
    const wharf = await startTestWharf({ root, config: { engine: { socket: join(root, 'no-engine.sock') } } });
    try {
      const { id } = await addAutobuild(root, 'team/noengine', `file://${repo.dir}`);
      const done = await waitBuild(wharf, (await buildNow(wharf, id)).id);
      assert.equal(done.state, 'failed');
      assert.match(done.error ?? '', /no engine reachable at .*no-engine\.sock/);
      assert.match(await log(wharf, done.id), /ERROR: no engine reachable/);
      assert.ok(readFileSync(join(root, 'hub', 'builds', `${done.id}.log`), 'utf8').includes('Fetching'));
    } finally {
      await wharf.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

