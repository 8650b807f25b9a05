import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestEngine } from '../../../test/e2e/engine-harness.ts';
import { engineRequest, startEngineWithBusybox } from '../../../test/support/engine-api.ts';

describe('container names are reserved atomically', () => {
  let engine: TestEngine;
  before(async () => (engine = await startEngineWithBusybox()));
  after(() => engine.close());

  test('of 50 concurrent creates with one name exactly one is a 201, the rest 409 with moby\'s text', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => engineRequest(engine.socket, 'POST', '/containers/create?name=same', { Image: 'busybox', Cmd: ['true'] })),
    );
    const created = answers.filter((a) => a.status === 201);
    assert.equal(created.length, 1, answers.map((a) => a.status).join(' '));
    const id = JSON.parse(created[0].body).Id;
    for (const a of answers.filter((x) => x.status !== 201)) {
      assert.equal(a.status, 409, a.body);
      assert.equal(
        JSON.parse(a.body).message,
        `Conflict. The container name "/same" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  });

  test('a failed create frees its name, and rename goes through the same reservation', async () => {
    assert.equal((await engineRequest(engine.socket, 'POST', '/containers/create?name=free', { Image: 'nosuch' })).status, 404);
    assert.equal((await engineRequest(engine.socket, 'POST', '/containers/create?name=free', { Image: 'busybox', Cmd: ['true'] })).status, 201);
    assert.equal((await engineRequest(engine.socket, 'POST', '/containers/create?name=other', { Image: 'busybox', Cmd: ['true'] })).status, 201);
    assert.equal((await engineRequest(engine.socket, 'POST', '/containers/other/rename?name=free')).status, 409);
    assert.equal((await engineRequest(engine.socket, 'POST', '/containers/other/rename?name=renamed')).status, 204);
    assert.equal((await engineRequest(engine.socket, 'POST', '/containers/create?name=other', { Image: 'busybox', Cmd: ['true'] })).status, 201);
  });

  test('at restart, of two stored containers with one name the older keeps it and the other is not restored', async () => {
    const older = JSON.parse((await engineRequest(engine.socket, 'POST', '/containers/create?name=dup', { Image: 'busybox', Cmd: ['true'] })).body).Id;
    await engine.stop();
    // What an engine without atomic reservation left behind: a second record with the same name, created later.
    const dir = join(engine.root, 'engine', 'containers');
    const record = JSON.parse(readFileSync(join(dir, older, 'config.v2.json'), 'utf8'));
    const newer = 'f'.repeat(64);
    mkdirSync(join(dir, newer));
    writeFileSync(join(dir, newer, 'config.v2.json'), JSON.stringify({ ...record, id: newer, created: new Date(Date.parse(record.created) + 1000).toISOString() }));
    await engine.restart();
    const inspect = await engineRequest(engine.socket, 'GET', '/containers/dup/json');
    assert.equal(JSON.parse(inspect.body).Id, older);
    assert.equal((await engineRequest(engine.socket, 'GET', `/containers/${newer}/json`)).status, 404);
  });
});
