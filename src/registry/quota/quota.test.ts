import assert from 'node:assert/strict';
import type { Access, Authorizer } from '../../auth/authorizer.ts';
import { test } from 'node:test';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import { digestOf } from '../../oci/digest.ts';
import { assertError, imageManifest, pushBlob, pushImage, putManifest, startTestRegistry } from '../v2/test-registry.ts';
import { parseSize } from './parse-size.ts';

test('sizes read as docker reads them: decimal units, binary with an i', () => {
  assert.equal(parseSize('1MB'), 1_000_000);
  assert.equal(parseSize('10GiB'), 10 * 1024 ** 3);
  assert.equal(parseSize('512k'), 512_000);
  assert.equal(parseSize('1.5 KiB'), 1536);
  assert.equal(parseSize('42'), 42);
  assert.equal(parseSize('2b'), 2);
  for (const bad of ['', 'MB', '1XB', '-1MB', '1iB', '1 MB extra']) assert.throws(() => parseSize(bad), /invalid size/, bad);
});

test('usage counts unique blob bytes (layers, configs, manifests) of the namespace only', async (t) => {
  const reg = await startTestRegistry();
  t.after(() => reg.close());
  const meta = reg.registry.meta;
  const a = await pushImage(reg.app, 'team/app', 'v1');
  // The same blobs in a second repository of the namespace count once; the manifest is the same too.
  const b = await putManifest(reg.app, 'team/other', 'v1', a.body);
  assert.equal(b.statusCode, 400, 'blobs must be linked first');
  await reg.app.inject({ method: 'POST', url: `/v2/team/other/blobs/uploads/?mount=${a.layer.digest}&from=team/app` });
  await reg.app.inject({ method: 'POST', url: `/v2/team/other/blobs/uploads/?mount=${a.config.digest}&from=team/app` });
  assert.equal((await putManifest(reg.app, 'team/other', 'v1', a.body)).statusCode, 201);
  await pushImage(reg.app, 'teamx/app', 'v1');
  await pushImage(reg.app, 'elsewhere', 'v1');
  assert.equal(await meta.namespaceUsage('team'), a.config.size + a.layer.size + a.size);
  assert.equal(await meta.namespaceUsage('nobody'), 0);
});

test('a push over the quota is DENIED at blob commit, mount and manifest, with the numbers', async (t) => {
  const reg = await startTestRegistry();
  t.after(() => reg.close());
  const meta = reg.registry.meta;
  const first = await pushImage(reg.app, 'team/app', 'v1');
  const used = first.config.size + first.layer.size + first.size;
  await meta.setQuota('team', used + 10);
  assert.deepEqual(await meta.listQuotas(), [{ namespace: 'team', limit: used + 10, used }]);

  // Blob upload completion (monolithic and chunked sessions).
  const big = Buffer.alloc(11, 1);
  const mono = await reg.app.inject({ method: 'POST', url: `/v2/team/app/blobs/uploads/?digest=${digestOf(big)}`, payload: big, headers: { 'content-type': 'application/octet-stream' } });
  assertError(mono, 403, 'DENIED');
  assert.match(mono.body, new RegExp(`quota exceeded: namespace team uses ${used} of ${used + 10} bytes, this push needs 11 more`));
  const start = await reg.app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/' });
  const location = start.headers.location as string;
  const put = await reg.app.inject({ method: 'PUT', url: `${location}${location.includes('?') ? '&' : '?'}digest=${digestOf(big)}`, payload: big, headers: { 'content-type': 'application/octet-stream' } });
  assertError(put, 403, 'DENIED');
  assert.equal((await reg.app.inject({ method: 'GET', url: location })).statusCode, 404, 'the refused session is gone');
  assert.equal(await meta.getBlobLink('team/app', digestOf(big)), undefined);

  // Content the namespace holds costs nothing: the same layer again, and a mount inside the namespace.
  await pushBlob(reg.app, 'team/app', `layer of team/app:v1`);
  const inside = await reg.app.inject({ method: 'POST', url: `/v2/team/copy/blobs/uploads/?mount=${first.layer.digest}&from=team/app` });
  assert.equal(inside.statusCode, 201, inside.body);

  // A mount from another namespace brings new bytes.
  const foreign = await pushImage(reg.app, 'other/app', 'v1');
  const mount = await reg.app.inject({ method: 'POST', url: `/v2/team/app/blobs/uploads/?mount=${foreign.layer.digest}&from=other/app` });
  assert.equal(mount.statusCode, 403, mount.body);
  assert.match(mount.body, /quota exceeded/);

  // A manifest's own bytes: a tag on a new manifest of existing blobs needs body bytes more.
  const second = imageManifest(first.config, [first.layer], { annotations: { 'x': 'y'.repeat(20) } });
  const refused = await putManifest(reg.app, 'team/app', 'v2', second);
  assertError(refused, 403, 'DENIED');
  assert.match(refused.body, new RegExp(`needs ${Buffer.byteLength(second)} more`));
  // Re-tagging the stored manifest costs nothing.
  assert.equal((await putManifest(reg.app, 'team/app', 'again', first.body)).statusCode, 201);

  await meta.setQuota('team', parseSize('1MB'));
  assert.equal((await putManifest(reg.app, 'team/app', 'v2', second)).statusCode, 201);
  assert.equal(await meta.deleteQuota('team'), true);
  assert.equal(await meta.deleteQuota('team'), false);
  assert.deepEqual(await meta.listQuotas(), []);
});

test('GET /v2/_wharf/quota/<namespace> shows usage and limit', async (t) => {
  const reg = await startTestRegistry();
  t.after(() => reg.close());
  const image = await pushImage(reg.app, 'team/app', 'v1');
  const used = image.config.size + image.layer.size + image.size;
  let res = await reg.app.inject({ method: 'GET', url: '/v2/_wharf/quota/team' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { namespace: 'team', used, limit: null });
  await reg.registry.meta.setQuota('team', 5000);
  res = await reg.app.inject({ method: 'GET', url: '/v2/_wharf/quota/team' });
  assert.deepEqual(res.json(), { namespace: 'team', used, limit: 5000 });
  assertError(await reg.app.inject({ method: 'GET', url: '/v2/_wharf/quota/Bad..Name' }), 400, 'NAME_INVALID');
});

test('the quota endpoint asks for the catalog access: refused callers get the challenge', async (t) => {
  const asked: Access[][] = [];
  const authorizer: Authorizer = {
    mode: 'htpasswd',
    authorize: async (_request, needs) => {
      asked.push(needs);
      return { allowed: false, status: 401, challenge: 'Basic realm="wharf"', code: 'UNAUTHORIZED', message: 'authentication required' };
    },
    filterPullable: async () => [],
  };
  const reg = await startTestRegistry({ authorizer });
  t.after(() => reg.close());
  const res = await reg.app.inject({ method: 'GET', url: '/v2/_wharf/quota/team' });
  assertError(res, 401, 'UNAUTHORIZED');
  assert.equal(res.headers['www-authenticate'], 'Basic realm="wharf"');
  assert.deepEqual(asked, [[{ type: 'registry', name: 'catalog', actions: ['*'] }]]);
});

/** Every store call waits a turn of the event loop first, as a round trip to another process's database does. */
function withLatency(store: MetadataStore): MetadataStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return value.apply(target, args);
      };
    },
  });
}

test('concurrent pushes into one namespace never take it over its quota (commit, mount, manifest)', async (t) => {
  const reg = await startTestRegistry({ meta: withLatency });
  t.after(() => reg.close());
  const meta = reg.registry.meta;
  const size = 1000;
  const limit = 5 * size + 500;
  await meta.setQuota('team', limit);
  // Twenty pushes of distinct 1000-byte blobs at once, monolithic and chunked: five fit.
  const blobs = Array.from({ length: 20 }, (_, i) => Buffer.alloc(size, i + 1));
  const results = await Promise.all(blobs.map(async (blob, i) => {
    const digest = digestOf(blob);
    const headers = { 'content-type': 'application/octet-stream' };
    if (i % 2 === 0) return reg.app.inject({ method: 'POST', url: `/v2/team/r${i % 3}/blobs/uploads/?digest=${digest}`, payload: blob, headers });
    const start = await reg.app.inject({ method: 'POST', url: `/v2/team/r${i % 3}/blobs/uploads/` });
    const location = start.headers.location as string;
    return reg.app.inject({ method: 'PUT', url: `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, payload: blob, headers });
  }));
  const accepted = results.filter((r) => r.statusCode === 201).length;
  const refused = results.filter((r) => r.statusCode === 403);
  assert.equal(accepted, 5, results.map((r) => r.statusCode).join(','));
  assert.equal(refused.length, 15);
  for (const res of refused) assert.match(res.body, new RegExp(`quota exceeded: namespace team uses ${5 * size} of ${limit} bytes, this push needs ${size} more`));
  assert.equal(await meta.namespaceUsage('team'), 5 * size);

  // Mounts from another namespace racing for 1000 bytes more: three of 300 fit.
  await meta.setQuota('team', 5 * size + 1000);
  const foreign = await Promise.all(Array.from({ length: 6 }, (_, i) => pushBlob(reg.app, 'other/app', Buffer.alloc(300, 100 + i))));
  const mounts = await Promise.all(foreign.map((b, i) => reg.app.inject({ method: 'POST', url: `/v2/team/m${i}/blobs/uploads/?mount=${b.digest}&from=other/app` })));
  assert.deepEqual(mounts.map((r) => r.statusCode).sort(), [201, 201, 201, 403, 403, 403]);
  assert.equal(await meta.namespaceUsage('team'), 5 * size + 900);

  // Manifests (each its own bytes) racing for two and a half manifests' worth: two land.
  const layer = await pushBlob(reg.app, 'team/r0', Buffer.alloc(50, 7));
  const bodies = Array.from({ length: 6 }, (_, i) => imageManifest(layer, [layer], { annotations: { n: String(i).repeat(40) } }));
  const each = Buffer.byteLength(bodies[0]);
  const before = await meta.namespaceUsage('team');
  await meta.setQuota('team', before + Math.floor(2.5 * each));
  const puts = await Promise.all(bodies.map((body, i) => putManifest(reg.app, 'team/r0', `t${i}`, body)));
  assert.deepEqual(puts.map((r) => r.statusCode).sort(), [201, 201, 403, 403, 403, 403]);
  for (const res of puts.filter((r) => r.statusCode === 403)) assert.match(res.body, /quota exceeded: namespace team uses \d+ of \d+ bytes, this push needs \d+ more/);
  assert.equal(await meta.namespaceUsage('team'), before + 2 * each);
  assert.equal((await meta.listManifests('team/r0')).length, 2, 'a refused manifest leaves no row');
});
