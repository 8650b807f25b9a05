import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RepositoryList } from '../../web/api-types.ts';
import { admin, anonymous, assertApiError, type BrowseHub, getJson, startBrowseHub, user } from '../browse/browse-fixture.ts';
import { searchPullable } from '../browse/repository-search.ts';

const names = (list: RepositoryList) => list.repositories.map((r) => r.name);

describe('GET /api/v1/repositories', () => {
  let hub: BrowseHub;
  const all = ['apps/web', 'library/alpine', 'library/busybox', 'team/busybox-musl', 'team/tools', 'x-y', 'x_y'];
  before(async () => {
    hub = await startBrowseHub();
    for (const name of all) await hub.registry.registry.meta.ensureRepository(name);
  });
  after(() => hub.close());

  test('an admin lists every repository in name order, 50 to a page by default', async () => {
    const list = await getJson<RepositoryList>(await hub.as(admin), '/api/v1/repositories');
    assert.deepEqual(names(list), all);
    assert.equal(list.next, null);
  });

  test('pages follow `next` until it is null', async () => {
    const app = await hub.as(admin);
    const seen: string[] = [];
    let url = '/api/v1/repositories?n=3';
    for (let pages = 0; ; pages++) {
      const list = await getJson<RepositoryList>(app, url);
      seen.push(...names(list));
      assert.ok(list.repositories.length <= 3);
      if (list.next === null) break;
      url = `/api/v1/repositories?n=3&last=${encodeURIComponent(list.next)}`;
      assert.ok(pages < 5, 'pages end');
    }
    assert.deepEqual(seen, all);
  });

  test('q finds names holding it, ignoring case, with _ and - taken literally', async () => {
    const app = await hub.as(admin);
    assert.deepEqual(names(await getJson(app, '/api/v1/repositories?q=busy')), ['library/busybox', 'team/busybox-musl']);
    assert.deepEqual(names(await getJson(app, '/api/v1/repositories?q=BusyBox')), ['library/busybox', 'team/busybox-musl']);
    assert.deepEqual(names(await getJson(app, '/api/v1/repositories?q=x_y')), ['x_y']);
    assert.deepEqual(names(await getJson(app, `/api/v1/repositories?q=${encodeURIComponent('%')}`)), []);
    const first = await getJson<RepositoryList>(app, '/api/v1/repositories?q=busy&n=1');
    assert.deepEqual(names(first), ['library/busybox']);
    const second = await getJson<RepositoryList>(app, `/api/v1/repositories?q=busy&n=1&last=${first.next}`);
    assert.deepEqual(names(second), ['team/busybox-musl']);
  });

  test('only names the caller may pull are listed', async () => {
    const onlyTeam = (repository: string) => (repository.startsWith('team/') ? ['pull' as const] : []);
    const list = await getJson<RepositoryList>(await hub.as(user, onlyTeam), '/api/v1/repositories?n=1');
    assert.deepEqual(names(list), ['team/busybox-musl'], 'the page fills from names after the ones filtered out');
    assert.ok(list.next);
    const rest = await getJson<RepositoryList>(await hub.as(user, onlyTeam), `/api/v1/repositories?n=1&last=${list.next}`);
    assert.deepEqual(rest, { repositories: [{ name: 'team/tools' }], next: null });
    assert.deepEqual(await getJson(await hub.as(anonymous, () => []), '/api/v1/repositories'), { repositories: [], next: null }, 'anonymous without anonymous pull');
  });

  test('bad input answers 400 with the registry code for names, INVALID otherwise', async () => {
    const app = await hub.as(admin);
    for (const query of ['n=0', 'n=101', 'n=x', 'n=1&n=2', 'extra=1', `q=${'a'.repeat(256)}`]) {
      assertApiError(await app.inject({ method: 'GET', url: `/api/v1/repositories?${query}` }), 400, 'INVALID');
    }
    for (const last of ['Upper', 'a%00b', 'library/busybox', 'x'.repeat(513)]) {
      assertApiError(await app.inject({ method: 'GET', url: `/api/v1/repositories?last=${last}` }), 400, 'INVALID');
    }
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/repositories?n=100' })).statusCode, 200);
  });
});

describe('GET /api/v1/repositories cursors', () => {
  let hub: BrowseHub;
  before(async () => {
    hub = await startBrowseHub();
    for (const name of ['hidden/alpha', 'hidden/beta', 'team/app', 'team/db']) await hub.registry.registry.meta.ensureRepository(name);
  });
  after(() => hub.close());

  test('`next` is opaque: it names no repository, opens only here, and a tampered or foreign one is a stale cursor', async () => {
    const onlyTeam = (repository: string) => (repository.startsWith('team/') ? ['pull' as const] : []);
    const app = await hub.as(user, onlyTeam);
    const first = await getJson<RepositoryList>(app, '/api/v1/repositories?n=1');
    assert.deepEqual(names(first), ['team/app']);
    assert.match(String(first.next), /^[A-Za-z0-9_-]+$/);
    for (const name of ['hidden', 'team', 'app']) assert.ok(!Buffer.from(String(first.next), 'base64url').toString('latin1').includes(name), name);
    assert.deepEqual(names(await getJson<RepositoryList>(app, `/api/v1/repositories?n=1&last=${first.next}`)), ['team/db']);
    const tampered = `${String(first.next).slice(0, -2)}${String(first.next).endsWith('AA') ? 'BA' : 'AA'}`;
    const stale = await app.inject({ method: 'GET', url: `/api/v1/repositories?last=${tampered}` });
    assertApiError(stale, 400, 'INVALID');
    assert.match(stale.body, /stale cursor/);
    const other = await startBrowseHub();
    try {
      assertApiError(await (await other.as(admin)).inject({ method: 'GET', url: `/api/v1/repositories?last=${first.next}` }), 400, 'INVALID');
    } finally {
      await other.close();
    }
  });
});

describe('searchPullable', () => {
  let hub: BrowseHub;
  before(async () => {
    hub = await startBrowseHub();
    for (let i = 0; i < 50; i++) await hub.registry.registry.meta.ensureRepository(`r${String(i).padStart(2, '0')}`);
  });
  after(() => hub.close());

  test('reads at most maxScanned names, then answers with next to go on from', async () => {
    const meta = hub.registry.registry.meta;
    const mostlyHidden = (list: string[]) => list.filter((name) => name === 'r03' || name === 'r31' || name === 'r49');
    const bounds = { firstPage: 5, maxPage: 5, maxScanned: 20 };
    const first = await searchPullable(meta, mostlyHidden, { query: '', n: 10 }, bounds);
    assert.deepEqual(first, { repositories: [{ name: 'r03' }], next: 'r19' }, 'four pages of five read');
    const second = await searchPullable(meta, mostlyHidden, { query: '', n: 10, last: first.next ?? undefined }, bounds);
    assert.deepEqual(second, { repositories: [{ name: 'r31' }], next: 'r39' });
    const third = await searchPullable(meta, mostlyHidden, { query: '', n: 10, last: second.next ?? undefined }, bounds);
    assert.deepEqual(third, { repositories: [{ name: 'r49' }], next: null }, 'the store ran out');
  });

  test('store pages grow from firstPage to maxPage', async () => {
    const meta = hub.registry.registry.meta;
    const sizes: (number | undefined)[] = [];
    const counting = {
      searchRepositories: (query: string, page?: { last?: string; n?: number }) => {
        sizes.push(page?.n);
        return meta.searchRepositories(query, page);
      },
    };
    const list = await searchPullable(counting, () => [], { query: '', n: 10 }, { firstPage: 2, maxPage: 8, maxScanned: 30 });
    assert.deepEqual(sizes, [2, 4, 8, 8, 8], 'reads until 30 names are read');
    assert.deepEqual(list, { repositories: [], next: 'r29' });
  });

  test('a page that ends where the store does has no next; one that stops before it has', async () => {
    const meta = hub.registry.registry.meta;
    const list = await searchPullable(meta, (l) => l, { query: '4', n: 2, last: 'r44' }, { firstPage: 10, maxPage: 10, maxScanned: 20 });
    assert.deepEqual(list, { repositories: [{ name: 'r45' }, { name: 'r46' }], next: 'r46' });
    const end = await searchPullable(meta, (l) => l, { query: '4', n: 3, last: 'r46' }, { firstPage: 10, maxPage: 10, maxScanned: 20 });
    assert.deepEqual(end, { repositories: [{ name: 'r47' }, { name: 'r48' }, { name: 'r49' }], next: null });
  });
});
