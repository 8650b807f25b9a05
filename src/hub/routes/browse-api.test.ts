import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { pushTinyImage } from '../../../test/support/tiny-image.ts';
import { type TestWharf, startTestWharf } from '../../../test/support/wharf.ts';
import { sqliteMeta } from '../../main/open-meta.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import type { ActivityList, ApiErrorBody, ManifestView, RepositoryList, TagList } from '../../web/api-types.ts';

const passwords: Record<string, string> = { alice: 'alice-secret', root: 'root-secret' };
const basic = (name: string) => ({ authorization: `Basic ${Buffer.from(`${name}:${passwords[name]}`).toString('base64')}` });
const anonymous = {};

// The whole server (start-wharf's composition: HubAuth, the ACL, the registry's events) over a real socket.
describe('the hub API on a whole wharf: browsing with the ACL, deleting a tag', () => {
  let root: string;
  let wharf: TestWharf;
  const api = (method: string, path: string, headers: Record<string, string>) => fetch(`${wharf.url}/api/v1${path}`, { method, headers });
  const json = async <T>(path: string, headers: Record<string, string>): Promise<T> => {
    const res = await api('GET', path, headers);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return (await res.json()) as T;
  };
  const assertError = async (res: Response, status: number, code: string) => {
    assert.equal(res.status, status, res.url);
    assert.equal(((await res.json()) as ApiErrorBody).errors[0].code, code);
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'wharf-hub-browse-'));
    const open = await startTestWharf({ root });
    for (const repo of ['alice/app', 'bob/app', 'public/tools', 'shared/lib']) await pushTinyImage(open.url, repo, 'v1', repo);
    await pushTinyImage(open.url, 'alice/app', 'v2', 'alice v2');
    await open.close();
    const stores = sqliteMeta(openDatabase(join(root, 'meta.db')), 'test');
    for (const name of Object.keys(passwords)) {
      await stores.users.addUser({ name, passwordHash: await bcrypt.hash(passwords[name], 4), admin: name === 'root', email: '', createdAt: '2030-01-01T00:00:00.000Z' });
    }
    await stores.close();
    wharf = await startTestWharf({
      root,
      auth: {
        mode: 'htpasswd',
        anonymousPull: true,
        acl: [
          { match: { name: '${account}/**' }, actions: ['*'] },
          { match: { account: 'alice', name: 'shared/**' }, actions: ['pull'] },
          { match: { name: 'public/**' }, actions: ['pull'] },
          { match: { account: '', name: 'public/**' }, actions: ['pull'] },
        ],
      },
    });
  });
  after(async () => {
    await wharf?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('each caller lists the repositories it may pull, and searches them', async () => {
    const names = (list: RepositoryList) => list.repositories.map((r) => r.name);
    assert.deepEqual(names(await json('/repositories', anonymous)), ['public/tools']);
    assert.deepEqual(names(await json('/repositories', basic('alice'))), ['alice/app', 'public/tools', 'shared/lib']);
    assert.deepEqual(names(await json('/repositories', basic('root'))), ['alice/app', 'bob/app', 'public/tools', 'shared/lib']);
    assert.deepEqual(names(await json('/repositories?q=APP', basic('alice'))), ['alice/app']);
  });

  test("tags and manifests need pull: alice reads hers and shared ones, not bob's; anonymous only public ones", async () => {
    const tags = await json<TagList>('/tags?repository=alice/app', basic('alice'));
    assert.deepEqual(tags.tags.map((t) => [t.name, t.platforms]), [['v1', ['linux/amd64']], ['v2', ['linux/amd64']]]);
    assert.deepEqual(tags.actions, ['pull', 'push', 'delete']);
    assert.deepEqual((await json<TagList>('/tags?repository=shared/lib', basic('alice'))).actions, ['pull']);
    const view = await json<ManifestView>('/manifest?repository=public/tools&reference=v1', anonymous);
    assert.equal(view.config?.architecture, 'amd64');
    await assertError(await api('GET', '/tags?repository=bob/app', basic('alice')), 403, 'DENIED');
    await assertError(await api('GET', '/manifest?repository=bob/app&reference=v1', basic('alice')), 403, 'DENIED');
    await assertError(await api('GET', '/tags?repository=alice/app', anonymous), 401, 'UNAUTHORIZED');
  });

  test('a tag deleted through the API is gone from v2 and shows in the activity with its actor', async () => {
    await assertError(await api('DELETE', '/tags?repository=shared/lib&tag=v1', basic('alice')), 403, 'DENIED');
    await assertError(await api('DELETE', '/tags?repository=public/tools&tag=v1', anonymous), 401, 'UNAUTHORIZED');
    assert.equal((await api('DELETE', '/tags?repository=alice/app&tag=v1', basic('alice'))).status, 204);
    const v2 = await fetch(`${wharf.url}/v2/alice/app/tags/list`, { headers: basic('alice') });
    assert.deepEqual(((await v2.json()) as { tags: string[] }).tags, ['v2']);
    await assertError(await api('DELETE', '/tags?repository=alice/app&tag=v1', basic('alice')), 404, 'MANIFEST_UNKNOWN');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const activity = await json<ActivityList>('/activity?repository=alice/app', basic('alice'));
      const deleted = activity.events.find((e) => e.action === 'delete');
      if (deleted) {
        assert.deepEqual([deleted.tag, deleted.actor], ['v1', 'alice']);
        break;
      }
      assert.ok(Date.now() < deadline, 'the delete reaches the activity log');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});
