import assert from 'node:assert/strict';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { basic, startTestV1, type TestV1, v1Image } from '../../registry/v1/test-v1.ts';
import { V1Client } from './v1-client.ts';

describe('the v1 client against wharf (index mode)', () => {
  let t: TestV1;
  let url: string;
  before(async () => {
    t = await startTestV1({ auth: { mode: 'token' } });
    await t.addUser('carol', 'carol-pw');
    url = await t.url();
  });
  after(() => t.close());

  const carol = { credentials: { username: 'carol', password: 'carol-pw' } };
  const push = (image: ReturnType<typeof v1Image>) => ({ id: image.id, json: image.json, layer: () => image.gz });

  test('ping reads the registry headers', async () => {
    assert.deepEqual(await new V1Client(url).ping(), {
      version: '0.9.1',
      standalone: false,
      encrypt: ['application/vnd.oci.image.layer.v1.tar+encrypted', 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted', 'application/vnd.oci.image.layer.v1.tar+zstd+encrypted'],
    });
  });

  test('login with sign-up closed falls back to Basic, as docker 1.x did on a 401', async () => {
    assert.equal(await new V1Client(url, carol).login(), 'logged-in');
    await assert.rejects(new V1Client(url, { credentials: { username: 'carol', password: 'nope' } }).login(), /Wrong login\/password/);
  });

  test('push sends Basic to the index only, then the token and the cookie to the registry', async () => {
    const image = v1Image({ 'c.txt': 'carol' });
    const client = new V1Client(url, carol);
    await client.push('carol/app', [push(image)], ['v1', 'latest']);
    const [index, ...rest] = client.log;
    assert.match(index.requestHeaders.authorization, /^Basic /);
    for (const exchange of rest.slice(0, -1)) {
      assert.match(exchange.requestHeaders.authorization ?? '', /^Token signature=/, `${exchange.method} ${exchange.path}`);
      assert.match(exchange.requestHeaders.cookie ?? '', /^session=/);
    }
    assert.match(rest[rest.length - 1].requestHeaders.authorization, /^Basic /, 'the closing image list goes to the index with Basic');
    assert.deepEqual(JSON.parse((await new V1Client(url).request('GET', '/v1/repositories/carol/app/tags', { headers: basic('carol', 'carol-pw') })).body), { latest: image.id, v1: image.id });
  });

  test('pull verifies each layer against its size and payload checksum', async () => {
    const image = v1Image({ 'd.txt': 'verified' });
    await new V1Client(url, carol).push('carol/verified', [push(image)], 'v1');
    const client = new V1Client(url, carol);
    const [pulled] = await client.pull('carol/verified', 'v1');
    assert.deepEqual(await buffer(await client.openLayer(pulled)), image.gz);
    await assert.rejects(buffer(await client.openLayer({ ...pulled, checksum: `sha256:${'0'.repeat(64)}` })), /does not match its checksum/);
    await assert.rejects(buffer(await client.openLayer({ ...pulled, size: pulled.size + 1 })), /X-Docker-Size said/);
  });

  test('deleteRepository runs the index, registry, index sequence', async () => {
    const image = v1Image({ 'e.txt': 'gone' });
    await new V1Client(url, carol).push('carol/gone', [push(image)], 'v1');
    const client = new V1Client(url, carol);
    await client.deleteRepository('carol/gone');
    assert.deepEqual(client.log.map((c) => [c.method, c.status, c.requestHeaders.authorization?.split(' ')[0]]), [
      ['DELETE', 202, 'Basic'],
      ['DELETE', 200, 'Token'],
      ['DELETE', 200, 'Basic'],
    ]);
    assert.equal((await new V1Client(url, carol).request('GET', '/v1/repositories/carol/gone/tags', { headers: basic('carol', 'carol-pw') })).status, 404);
  });
});
