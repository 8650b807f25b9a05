import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Identity } from '../../auth/authorizer.ts';
import { createLogger } from '../../base/log.ts';
import { SqliteBuildStore } from '../../meta/sqlite-build-store.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import type { BuildRow } from '../../web/api-types.ts';
import { Builds } from '../builds/builds.ts';
import type { RepositoryAction } from '../hub-auth.ts';
import { apiTestApp, fixedHubAuth } from '../hub-fixture.ts';
import { registerBuildsRoutes } from './builds-routes.ts';
import { registerHooksRoutes } from './hooks-routes.ts';

const anonymous: Identity = { admin: false };
const alice: Identity = { account: 'alice', admin: false };
const root: Identity = { account: 'root', admin: true };
const logger = createLogger({ level: 'silent' });

describe('the automated builds API', () => {
  let dir: string;
  let builds: Builds;
  let app: FastifyInstance | undefined;
  let teamApp: string;
  let other: string;
  let firstBuild: string;

  const as = async (identity: Identity, may?: (repository: string) => RepositoryAction[]) => {
    await app?.close();
    const deps = { auth: fixedHubAuth(identity, may), builds, logger, publicUrl: () => 'https://hub.example' };
    app = await apiTestApp((api) => {
      registerBuildsRoutes(api, deps);
      registerHooksRoutes(api, deps);
    });
    return app;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-builds-routes-'));
    builds = new Builds({ store: new SqliteBuildStore(openDatabase(':memory:')), root: dir, queuePerRepository: 3 });
    teamApp = (await builds.addAutobuild({ repository: 'team/app', git: 'https://git.example/app.git' })).id;
    other = (await builds.addAutobuild({ repository: 'other/app', git: 'https://git.example/other.git', ref: 'release' })).id;
    const build = await builds.queue(await builds.autobuild(teamApp), 'cli');
    firstBuild = build.id;
    await builds.queue(await builds.autobuild(other), 'cli');
    const log = await builds.logs.append(firstBuild);
    await new Promise<void>((resolve) => log.end('Step 1/2 : FROM scratch\nStep 2/2 : COPY a /\n', resolve));
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('autobuilds list what the caller may pull, with webhook URLs and never the secret', async () => {
    const res = await (await as(alice, (r) => (r === 'team/app' ? ['pull'] : []))).inject('/api/v1/autobuilds');
    assert.equal(res.statusCode, 200);
    const rows = res.json().autobuilds as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => [r.repository, r.webhookUrl, r.secret]), [['team/app', `https://hub.example/api/v1/hooks/${teamApp}`, undefined]]);
    assert.equal((await (await as(anonymous, () => [])).inject('/api/v1/autobuilds?repository=team/app')).statusCode, 401);
    assert.equal((await (await as(alice, () => [])).inject('/api/v1/autobuilds?repository=team/app')).statusCode, 403);
    assert.equal((await (await as(root)).inject('/api/v1/autobuilds?repository=-bad')).json().errors[0].code, 'NAME_INVALID');
  });

  test("an ssh URL's user is shown only to callers who may push (or admins)", async () => {
    const id = (await builds.addAutobuild({ repository: 'team/ssh', git: 'ssh://deploy@git.example/app.git' })).id;
    const gitOf = async (identity: Identity, may?: (repository: string) => RepositoryAction[]) =>
      ((await (await as(identity, may)).inject('/api/v1/autobuilds?repository=team/ssh')).json().autobuilds as { id: string; git: string }[]).find((a) => a.id === id)?.git;
    assert.equal(await gitOf(alice, () => ['pull']), 'ssh://git.example/app.git');
    assert.equal(await gitOf(alice, () => ['pull', 'push']), 'ssh://deploy@git.example/app.git');
    assert.equal(await gitOf(root), 'ssh://deploy@git.example/app.git');
    const rootRobot: Identity = { account: 'root', admin: true, tokenId: 'robot-1' };
    assert.equal(await gitOf(rootRobot, () => ['pull']), 'ssh://git.example/app.git', "an admin's pull-only robot token is not an admin");
    await builds.removeAutobuild(id);
  });

  test('"Build now" needs push on the repository, answers 202 with the queued row, and 429 beyond the queue', async () => {
    const url = `/api/v1/autobuilds/${teamApp}/builds`;
    assert.equal((await (await as(anonymous, () => [])).inject({ method: 'POST', url })).statusCode, 401);
    assert.equal((await (await as(alice, () => ['pull'])).inject({ method: 'POST', url })).statusCode, 403);
    const pusher = await as(alice, () => ['pull', 'push']);
    const res = await pusher.inject({ method: 'POST', url });
    assert.equal(res.statusCode, 202);
    assert.equal((res.json() as BuildRow).state, 'queued');
    assert.equal((await pusher.inject({ method: 'POST', url })).statusCode, 202);
    const full = await pusher.inject({ method: 'POST', url });
    assert.equal(full.statusCode, 429);
    assert.equal(full.headers['retry-after'], '60');
    assert.equal((await pusher.inject({ method: 'POST', url: `/api/v1/autobuilds/${'0'.repeat(16)}/builds` })).statusCode, 404);
  });

  test('builds list newest first with paging, per repository or filtered overall', async () => {
    const reader = await as(alice, (r) => (r === 'team/app' ? ['pull'] : []));
    const page = (await reader.inject('/api/v1/builds?repository=team/app&n=2')).json() as { builds: BuildRow[]; next: string };
    assert.equal(page.builds.length, 2);
    const rest = (await reader.inject(`/api/v1/builds?repository=team/app&n=2&last=${page.next}`)).json() as { builds: BuildRow[]; next: string | null };
    assert.deepEqual(rest.builds.map((b) => b.id), [firstBuild]);
    assert.equal(rest.next, null);
    const overall = (await reader.inject('/api/v1/builds')).json() as { builds: BuildRow[] };
    assert.ok(overall.builds.every((b) => b.repository === 'team/app') && overall.builds.length === 3);
    assert.equal((await reader.inject('/api/v1/builds?repository=other/app')).statusCode, 403);
    assert.equal((await reader.inject('/api/v1/builds?n=0')).statusCode, 400);
    assert.equal((await reader.inject('/api/v1/builds?last=zz')).statusCode, 400);
  });

  test('a build and its log from an offset, with its state and the next offset in headers', async () => {
    const reader = await as(alice, () => ['pull']);
    assert.equal(((await reader.inject(`/api/v1/builds/${firstBuild}`)).json() as BuildRow).id, firstBuild);
    const log = await reader.inject(`/api/v1/builds/${firstBuild}/log`);
    assert.equal(log.body, 'Step 1/2 : FROM scratch\nStep 2/2 : COPY a /\n');
    assert.equal(log.headers['x-build-state'], 'queued');
    assert.equal(log.headers['x-log-next-offset'], String(log.rawPayload.length));
    assert.equal(log.headers['content-length'], String(log.rawPayload.length));
    const tail = await reader.inject(`/api/v1/builds/${firstBuild}/log?offset=24`);
    assert.equal(tail.body, 'Step 2/2 : COPY a /\n');
    const none = await reader.inject(`/api/v1/builds/${firstBuild}/log?offset=${log.rawPayload.length}`);
    assert.equal(none.body, '');
    assert.equal(none.headers['x-log-next-offset'], String(log.rawPayload.length));
    assert.equal((await reader.inject(`/api/v1/builds/${firstBuild}/log?offset=-1`)).statusCode, 400);
    assert.equal((await (await as(anonymous, () => [])).inject(`/api/v1/builds/${firstBuild}/log`)).statusCode, 401);
  });

  test('the webhook needs no caller but the signature; other branches are ignored; bodies over 1 MiB are refused', async () => {
    const hooks = await as(anonymous, () => []);
    const { secret } = await builds.autobuild(other);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40) });
    const sign = (data: string) => `sha256=${createHmac('sha256', secret).update(data).digest('hex')}`;
    const post = (payload: string, headers: Record<string, string>) =>
      hooks.inject({ method: 'POST', url: `/api/v1/hooks/${other}`, payload, headers: { 'content-type': 'application/json', 'x-github-event': 'push', ...headers } });
    const ignored = await post(body, { 'x-hub-signature-256': sign(body) });
    assert.equal(ignored.statusCode, 200);
    assert.match(ignored.json().ignored, /not refs\/heads\/release/);
    assert.equal((await post(body, {})).statusCode, 401);
    assert.equal((await post(body, { 'x-hub-signature-256': sign('x') })).statusCode, 403);
    const big = JSON.stringify({ ref: 'refs/heads/release', after: 'a'.repeat(40), pad: 'x'.repeat(1024 * 1024) });
    assert.equal((await post(big, { 'x-hub-signature-256': sign(big) })).statusCode, 413);
    const release = JSON.stringify({ ref: 'refs/heads/release', after: 'b'.repeat(40) });
    const queued = await post(release, { 'x-hub-signature-256': sign(release) });
    assert.equal(queued.statusCode, 202);
    assert.equal((queued.json() as BuildRow).commit, 'b'.repeat(40));
    // A redelivery while that build is queued (or running) queues nothing.
    const replayed = await post(release, { 'x-hub-signature-256': sign(release) });
    assert.equal(replayed.statusCode, 200);
    assert.deepEqual(replayed.json(), { ignored: 'already queued' });
    assert.equal((await builds.store.listBuilds({ repository: 'other/app', n: 10 })).filter((b) => b.commit === 'b'.repeat(40)).length, 1);
    const plain = await hooks.inject({ method: 'POST', url: `/api/v1/hooks/${other}`, payload: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(plain.statusCode, 415);
    assert.equal(plain.json().errors[0].code, 'UNSUPPORTED');
  });
});
