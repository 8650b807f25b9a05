import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestRegistry, type TestRegistry } from './test-registry.ts';

let t: TestRegistry;

before(async () => {
  t = await startTestRegistry();
});

after(async () => {
  await t.close();
});

// issue 8: a status GET racing the first PATCH (which is still opening the ingest) answered 500 in 36 of 100 tries.
test('an upload status asked while the first PATCH opens the ingest answers 204 with the offset it has', async () => {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 100; i++) {
    const start = await t.app.inject({ method: 'POST', url: '/v2/race/status/blobs/uploads/' });
    assert.equal(start.statusCode, 202);
    const location = start.headers.location as string;
    const uuid = start.headers['docker-upload-uuid'];
    const patch = t.app.inject({ method: 'PATCH', url: location, payload: chunk, headers: { 'content-type': 'application/octet-stream' } });
    // Several probes spread over the PATCH's life: before the open, during it, during the write, after.
    const probes = await Promise.all([0, 0, 1, 2].map(async (ticks) => {
      for (let n = 0; n < ticks; n++) await new Promise((resolve) => setImmediate(resolve));
      return t.app.inject({ method: 'GET', url: location });
    }));
    const patched = await patch;
    assert.equal(patched.statusCode, 202, patched.body);
    for (const status of probes) {
      assert.equal(status.statusCode, 204, `try ${i}: ${status.body}`);
      assert.equal(status.headers['docker-upload-uuid'], uuid);
      const end = /^0-(\d+)$/.exec(status.headers.range as string);
      assert.ok(end && Number(end[1]) < chunk.length, `try ${i}: range ${status.headers.range}`);
    }
    const cancel = await t.app.inject({ method: 'DELETE', url: location });
    assert.equal(cancel.statusCode, 204);
  }
});
