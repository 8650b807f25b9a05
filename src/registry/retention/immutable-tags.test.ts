import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../base/config.ts';
import { assertError, pushImage, putManifest, startTestRegistry } from '../v2/test-registry.ts';
import { compileRepositoryGlob } from './repository-glob.ts';

test('repository globs: * and ? within a component, ** across', () => {
  assert.ok(compileRepositoryGlob('team/*').test('team/app'));
  assert.ok(!compileRepositoryGlob('team/*').test('team/a/b'));
  assert.ok(compileRepositoryGlob('team/**').test('team/a/b'));
  assert.ok(compileRepositoryGlob('ap?').test('app'));
  assert.ok(!compileRepositoryGlob('a.p').test('axp'));
});

test('an immutable tag cannot move nor be deleted; the same digest again is fine; others stay mutable', async (t) => {
  const reg = await startTestRegistry({ registry: { immutableTags: [{ repository: 'prod/**', tag: 'v[0-9]+(\\.[0-9]+)*' }] } });
  t.after(() => reg.close());
  const v1 = await pushImage(reg.app, 'prod/app', 'v1.0');
  const other = await pushImage(reg.app, 'prod/app', 'latest');
  assert.equal((await putManifest(reg.app, 'prod/app', 'v1.0', v1.body)).statusCode, 201, 'same digest again');

  const overwrite = await putManifest(reg.app, 'prod/app', 'v1.0', other.body);
  assertError(overwrite, 403, 'DENIED');
  assert.match(overwrite.body, /tag prod\/app:v1.0 is immutable \(rule repository prod\/\*\*, tag v\[0-9\]\+.*\): it points at sha256:[0-9a-f]{64}, it cannot be overwritten/);
  assert.equal(await reg.registry.meta.resolveTag('prod/app', 'v1.0'), v1.digest);

  assertError(await reg.app.inject({ method: 'DELETE', url: '/v2/prod/app/manifests/v1.0' }), 403, 'DENIED');
  assertError(await reg.app.inject({ method: 'DELETE', url: `/v2/prod/app/manifests/${v1.digest}` }), 403, 'DENIED');
  assert.equal(await reg.registry.meta.resolveTag('prod/app', 'v1.0'), v1.digest);

  // Not matching the whole tag, another repository, an unknown tag: unaffected.
  assert.equal((await putManifest(reg.app, 'prod/app', 'latest', v1.body)).statusCode, 201);
  assert.equal((await putManifest(reg.app, 'prod/app', 'v1.0-rc', v1.body)).statusCode, 201);
  assert.equal((await putManifest(reg.app, 'prod/app', 'v1.0-rc', other.body)).statusCode, 201);
  assertError(await reg.app.inject({ method: 'DELETE', url: '/v2/prod/app/manifests/v9' }), 404, 'MANIFEST_UNKNOWN');
  await pushImage(reg.app, 'dev/app', 'v1.0');
  assert.equal((await putManifest(reg.app, 'dev/app', 'v1.0', other.body)).statusCode, 400, 'blobs unknown to dev/app, not DENIED');
  assert.equal((await reg.app.inject({ method: 'DELETE', url: '/v2/dev/app/manifests/v1.0' })).statusCode, 202);
  assert.equal((await reg.app.inject({ method: 'DELETE', url: '/v2/prod/app/manifests/v1.0-rc' })).statusCode, 202);
});

test('of two pushes racing to create the same immutable tag, one wins and the other is DENIED', async (t) => {
  const reg = await startTestRegistry({ registry: { immutableTags: [{ repository: 'prod/**', tag: 'v.*' }] } });
  t.after(() => reg.close());
  const a = await pushImage(reg.app, 'prod/app', 'a');
  const b = await pushImage(reg.app, 'prod/app', 'b');
  const answers = await Promise.all([putManifest(reg.app, 'prod/app', 'v1', a.body), putManifest(reg.app, 'prod/app', 'v1', b.body)]);
  assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 403], answers.map((r) => r.body).join('\n'));
  const winner = answers[0].statusCode === 201 ? a : b;
  assertError(answers.find((r) => r.statusCode === 403) ?? answers[0], 403, 'DENIED');
  assert.equal(await reg.registry.meta.resolveTag('prod/app', 'v1'), winner.digest);
});

test('a config with a bad tag pattern is refused at load', () => {
  assert.throws(() => loadConfig({ overrides: { registry: { immutableTags: [{ repository: 'x', tag: '(' }] } } }), /regular expression/);
});
