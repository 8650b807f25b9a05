import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Identity } from '../../auth/authorizer.ts';
import type { ActivityRecord } from '../../meta/activity-store.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { SqliteActivityStore } from '../../meta/sqlite-activity-store.ts';
import type { ActivityList } from '../../web/api-types.ts';
import type { RepositoryAction } from '../hub-auth.ts';
import { apiTestApp, fixedHubAuth } from '../hub-fixture.ts';
import { registerActivityRoutes } from './activity-routes.ts';

const anonymous: Identity = { admin: false };
const alice: Identity = { account: 'alice', admin: false };
const root: Identity = { account: 'root', admin: true };
// alice (and anonymous, when let) may pull team/* only.
const teamOnly = (repository: string): RepositoryAction[] => (repository.startsWith('team/') ? ['pull'] : []);
const nothing = (): RepositoryAction[] => [];

const row = (repository: string, second: number, extra: Partial<ActivityRecord> = {}): ActivityRecord => ({
  at: new Date(Date.UTC(2030, 0, 1, 0, 0, second)).toISOString(),
  action: 'push',
  repository,
  tag: 'latest',
  digest: `sha256:${'a'.repeat(64)}`,
  actor: 'alice',
  count: 1,
  ...extra,
});

describe('GET /api/v1/activity', () => {
  const store = new SqliteActivityStore(openDatabase(':memory:'));
  const apps: FastifyInstance[] = [];
  const as = async (identity: Identity, may?: (repository: string) => RepositoryAction[]) => {
    const app = await apiTestApp((api) => registerActivityRoutes(api, { auth: fixedHubAuth(identity, may), stores: { activity: store } as never }));
    apps.push(app);
    return app;
  };
  const get = async (app: FastifyInstance, url: string, status = 200) => {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    return res.json();
  };
  const errorCode = async (app: FastifyInstance, url: string, status: number) => (await get(app, url, status)).errors[0].code;

  before(async () => {
    await store.append([
      row('team/app', 1),
      row('secret/db', 2),
      row('team/app', 3, { action: 'pull', tag: undefined, actor: 'anonymous', count: 12 }),
      row('team/web', 4, { action: 'delete', digest: undefined }),
      row('secret/db', 5, { actor: 'autobuild' }),
    ]);
  });
  after(async () => {
    for (const app of apps) await app.close();
  });

  test('per repository: newest first, every field, paged by `next`', async () => {
    const app = await as(alice, (repository) => (repository.startsWith('team/') ? ['pull', 'push'] : []));
    const first: ActivityList = await get(app, '/api/v1/activity?repository=team/app&n=1');
    assert.equal(first.events.length, 1);
    const { id, ...event } = first.events[0];
    assert.match(id, /^[1-9][0-9]*$/);
    assert.deepEqual(event, { at: '2030-01-01T00:00:03.000Z', action: 'pull', repository: 'team/app', tag: null, digest: `sha256:${'a'.repeat(64)}`, actor: 'anonymous', count: 12 });
    assert.equal(first.next, id);
    const second: ActivityList = await get(app, `/api/v1/activity?repository=team/app&n=1&last=${first.next}`);
    assert.deepEqual(second.events.map((e) => [e.action, e.tag]), [['push', 'latest']]);
    const third: ActivityList = await get(app, `/api/v1/activity?repository=team/app&n=1&last=${second.next}`);
    assert.deepEqual(third, { events: [], next: null });
    assert.equal((await get(app, '/api/v1/activity?repository=team/app')).next, null, 'a short page is the last');
  });

  test('per repository needs pull: 403 for a user, 401 for anonymous', async () => {
    assert.equal(await errorCode(await as(alice, teamOnly), '/api/v1/activity?repository=secret/db', 403), 'DENIED');
    assert.equal(await errorCode(await as(anonymous, nothing), '/api/v1/activity?repository=team/app', 401), 'UNAUTHORIZED');
    assert.equal((await get(await as(anonymous, teamOnly), '/api/v1/activity?repository=team/app')).events.length, 2, 'anonymous pull, where allowed');
  });

  test('overall: only repositories the caller may pull; admins see all', async () => {
    const mine: ActivityList = await get(await as(alice, teamOnly), '/api/v1/activity');
    assert.deepEqual(mine.events.map((e) => e.repository), ['team/web', 'team/app', 'team/app']);
    assert.equal(mine.next, null);
    const all: ActivityList = await get(await as(root), '/api/v1/activity?n=4');
    assert.deepEqual(all.events.map((e) => e.repository), ['secret/db', 'team/web', 'team/app', 'secret/db']);
    const rest: ActivityList = await get(await as(root), `/api/v1/activity?n=4&last=${all.next}`);
    assert.deepEqual(rest.events.map((e) => e.at), ['2030-01-01T00:00:01.000Z']);
    assert.deepEqual(await get(await as(anonymous, nothing), '/api/v1/activity'), { events: [], next: null }, 'nothing pullable: nothing listed');
  });

  test('who acted is shown to admins and to those who may push to the repository, else it is empty', async () => {
    const actors = (list: ActivityList) => list.events.map((e) => `${e.repository} ${e.actor}`);
    const pullOnly: ActivityList = await get(await as(alice, teamOnly), '/api/v1/activity');
    assert.deepEqual(actors(pullOnly), ['team/web ', 'team/app ', 'team/app ']);
    const byRepository: ActivityList = await get(await as(alice, teamOnly), '/api/v1/activity?repository=team/app');
    assert.deepEqual(actors(byRepository), ['team/app ', 'team/app ']);
    const maintainer = (repository: string): RepositoryAction[] => (repository === 'team/app' ? ['pull', 'push'] : teamOnly(repository));
    assert.deepEqual(actors(await get(await as(alice, maintainer), '/api/v1/activity')), ['team/web ', 'team/app anonymous', 'team/app alice']);
    assert.deepEqual(actors(await get(await as(root), '/api/v1/activity?n=2')), ['secret/db autobuild', 'team/web alice']);
  });

  test('bad input answers 400 with the field or the registry code', async () => {
    const app = await as(root);
    for (const query of ['n=0', 'n=101', 'n=x', 'last=abc', 'last=0', 'last=-1', 'extra=1']) {
      assert.equal(await errorCode(app, `/api/v1/activity?${query}`, 400), 'INVALID', query);
    }
    assert.equal(await errorCode(app, '/api/v1/activity?repository=Team/App', 400), 'NAME_INVALID');
    assert.equal(await errorCode(app, `/api/v1/activity?repository=${'a'.repeat(2000)}`, 400), 'INVALID');
  });
});

describe('GET /api/v1/activity over many rows the caller may not pull', () => {
  test('a page reads a bounded number of rows and goes on from where it stopped', async () => {
    const store = new SqliteActivityStore(openDatabase(':memory:'));
    await store.append([row('team/app', 0), ...Array.from({ length: 2500 }, (_, i) => row('secret/db', i % 60))]);
    const app = await apiTestApp((api) => registerActivityRoutes(api, { auth: fixedHubAuth(alice, teamOnly), stores: { activity: store } as never }));
    const pages: ActivityList[] = [];
    let url = '/api/v1/activity?n=10';
    for (;;) {
      const page = (await app.inject({ method: 'GET', url })).json() as ActivityList;
      pages.push(page);
      if (page.next === null) break;
      url = `/api/v1/activity?n=10&last=${page.next}`;
    }
    await app.close();
    assert.deepEqual(pages.map((p) => p.events.length), [0, 0, 1]);
    assert.equal(pages[2].events[0].repository, 'team/app');
  });
});
