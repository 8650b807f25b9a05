import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basic, type TestV1Image, v1Image } from '../../src/registry/v1/test-v1.ts';
import { startTestWharf, type TestWharf } from '../support/wharf.ts';

// The sequences of moby's hub_registry_spec ("API (pushing repos foo/bar)", "pulling", "deleting", "Users"),
// replayed over real sockets against a whole wharf, with every status and header the spec names checked. Index
// and registry are one server here, so the registry's own calls to the index (push step 4, delete step 4) are
// internal and not on the wire.

interface Step {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

async function send(wharf: TestWharf, step: Step): Promise<{ status: number; headers: Headers; body: string; raw: Buffer }> {
  const res = await fetch(`${wharf.url}${step.path}`, { method: step.method, headers: step.headers, body: step.body });
  const raw = Buffer.from(await res.arrayBuffer());
  assert.equal(res.headers.get('x-docker-registry-version'), '0.9.1', `${step.method} ${step.path}: every v1 answer names the registry version`);
  return { status: res.status, headers: res.headers, body: raw.toString('utf8'), raw };
}

const tokenPattern = (repository: string, access: string) => new RegExp(`^signature=[0-9a-f]+\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]{43},repository="${repository.replace('/', '\\/')}",access=${access}$`);

describe('hub_registry_spec sequences in index mode (auth token)', () => {
  let wharf: TestWharf;
  const parent = v1Image({ 'etc/parent': 'parent layer' });
  const child = v1Image({ 'etc/child': 'child layer' }, parent.id);
  const user = basic('samalba', 'toto42');

  before(async () => {
    wharf = await startTestWharf({ auth: { mode: 'token', signup: true } });
  });
  after(() => wharf.close());

  test('Users: create (201), create again (400 with the body docker 1.x matches), login (200/401), update', async () => {
    const create = { method: 'POST', path: '/v1/users/', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'sam@docker.com', password: 'toto42', username: 'samalba' }) };
    assert.equal((await send(wharf, create)).status, 201);
    const again = await send(wharf, create);
    assert.equal(again.status, 400);
    assert.equal(again.body, '"Username or email already exists"');
    assert.equal((await send(wharf, { method: 'GET', path: '/v1/users/', headers: user })).status, 200);
    const wrong = await send(wharf, { method: 'GET', path: '/v1/users/', headers: basic('samalba', 'nope') });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic realm="wharf",Token$/);
    const update = await send(wharf, { method: 'PUT', path: '/v1/users/samalba/', headers: user, body: JSON.stringify({ email: 'sam@example.com' }) });
    assert.equal(update.status, 204);
  });

  test('_ping: not standalone (the index hands out tokens), encrypted layer types advertised', async () => {
    const ping = await send(wharf, { method: 'GET', path: '/v1/_ping' });
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'true');
    assert.equal(ping.headers.get('x-docker-registry-standalone'), 'false');
    assert.match(ping.headers.get('x-docker-encrypt') ?? '', /application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip\+encrypted/);
  });

  test('push: index allocates with a write token, the registry takes token then cookie, the index gets checksums', async () => {
    // 1-2. Docker -> Index: PUT /v1/repositories/foo/bar/ (Basic, X-Docker-Token: true) with the image list.
    const index = await send(wharf, {
      method: 'PUT',
      path: '/v1/repositories/samalba/busybox/',
      headers: { ...user, 'x-docker-token': 'true', 'content-type': 'application/json' },
      body: JSON.stringify([{ id: parent.id }, { id: child.id }]),
    });
    assert.equal(index.status, 200);
    const token = index.headers.get('x-docker-token') ?? '';
    assert.match(token, tokenPattern('samalba/busybox', 'write'));
    assert.equal(index.headers.get('www-authenticate'), `Token ${token}`);
    assert.equal(index.headers.get('x-docker-endpoints'), wharf.host);
    const cookie = (index.headers.get('set-cookie') ?? '').split(';')[0];
    assert.match(index.headers.get('set-cookie') ?? '', /^session=[A-Za-z0-9_-]+; Path=\/v1\/; HttpOnly; SameSite=Strict$/);

    // 3. Docker -> Registry: PUT parent json with the token; the registry grants a session (cookie).
    const first = await send(wharf, { method: 'PUT', path: `/v1/images/${parent.id}/json`, headers: { authorization: `Token ${token}` }, body: parent.json });
    assert.equal(first.status, 200);
    assert.match(first.headers.get('set-cookie') ?? '', /^session=/);
    // 5. The client retries with token and cookie: the json is already there, still incomplete, so it is replaced.
    assert.equal((await send(wharf, { method: 'PUT', path: `/v1/images/${parent.id}/json`, headers: { authorization: `Token ${token}`, cookie }, body: parent.json })).status, 200);
    // 6. Child json with the cookie alone.
    assert.equal((await send(wharf, { method: 'PUT', path: `/v1/images/${child.id}/json`, headers: { cookie }, body: child.json })).status, 200);
    // 7-8. Layers with the cookie; X-Docker-Checksum beside the layer (the spec's step 8) completes the image at
    // once. The spec shows it on the child only; the parent gets it too, since an image is pullable only verified.
    for (const image of [parent, child]) {
      const layer = await send(wharf, { method: 'PUT', path: `/v1/images/${image.id}/layer`, headers: { cookie, 'x-docker-checksum': image.payload }, body: image.gz });
      assert.equal(layer.status, 200, layer.body);
    }
    // 9. Tag with the cookie.
    const tag = await send(wharf, { method: 'PUT', path: '/v1/repositories/samalba/busybox/tags/latest', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(child.id) });
    assert.equal(tag.status, 200);
    // 10. Docker -> Index: PUT …/images with the checksums (Basic, X-Docker-Endpoints) -> 204.
    const done = await send(wharf, {
      method: 'PUT',
      path: '/v1/repositories/samalba/busybox/images',
      headers: { ...user, 'x-docker-endpoints': wharf.host, 'content-type': 'application/json' },
      body: JSON.stringify([{ id: child.id, checksum: child.payload }]),
    });
    assert.equal(done.status, 204);
    assert.equal(done.body, '');
  });

  test('pull: index answers checksums, endpoints and a read token; the registry serves tag, ancestry, json, layers', async () => {
    // 1-2. Docker -> Index: GET /v1/repositories/foo/bar/images (Basic, X-Docker-Token: true).
    const index = await send(wharf, { method: 'GET', path: '/v1/repositories/samalba/busybox/images', headers: { ...user, 'x-docker-token': 'true' } });
    assert.equal(index.status, 200);
    const token = index.headers.get('x-docker-token') ?? '';
    assert.match(token, tokenPattern('samalba/busybox', 'read'));
    assert.equal(index.headers.get('x-docker-endpoints'), wharf.host);
    const list = JSON.parse(index.body) as { id: string; checksum?: string }[];
    assert.deepEqual(list.map((i) => i.id).sort(), [parent.id, child.id].sort());
    assert.equal(list.find((i) => i.id === child.id)?.checksum, child.payload);
    const auth = { authorization: `Token ${token}` };
    // 3. Docker -> Registry: GET …/tags/latest with the token.
    const tag = await send(wharf, { method: 'GET', path: '/v1/repositories/samalba/busybox/tags/latest', headers: auth });
    assert.equal(tag.status, 200);
    assert.equal(JSON.parse(tag.body), child.id);
    assert.deepEqual(JSON.parse((await send(wharf, { method: 'GET', path: '/v1/repositories/samalba/busybox/tags', headers: auth })).body), { latest: child.id });
    // 5. GET ancestry, then json + layer of each image.
    const ancestry = await send(wharf, { method: 'GET', path: `/v1/images/${child.id}/ancestry`, headers: auth });
    assert.deepEqual(JSON.parse(ancestry.body), [child.id, parent.id]);
    for (const image of [child, parent] as TestV1Image[]) {
      const json = await send(wharf, { method: 'GET', path: `/v1/images/${image.id}/json`, headers: auth });
      assert.equal(json.status, 200);
      assert.equal(json.body, image.json);
      assert.equal(json.headers.get('x-docker-size'), String(image.gz.length));
      assert.equal(json.headers.get('x-docker-checksum-payload'), image.payload);
      const layer = await send(wharf, { method: 'GET', path: `/v1/images/${image.id}/layer`, headers: auth });
      assert.equal(layer.status, 200);
      assert.equal(layer.headers.get('accept-ranges'), 'bytes');
      assert.deepEqual(layer.raw, image.gz);
    }
    // Without credentials the registry asks for a Token.
    const anonymous = await send(wharf, { method: 'GET', path: `/v1/images/${child.id}/json` });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Token');
  });

  test('delete: index 202 with a delete token, registry 200, index 200', async () => {
    // 1-2. Docker -> Index: DELETE (Basic, X-Docker-Token: true) -> 202 Accepted, token and endpoints.
    const index = await send(wharf, { method: 'DELETE', path: '/v1/repositories/samalba/busybox/', headers: { ...user, 'x-docker-token': 'true' } });
    assert.equal(index.status, 202);
    const token = index.headers.get('x-docker-token') ?? '';
    assert.match(token, tokenPattern('samalba/busybox', 'delete'));
    assert.equal(index.headers.get('www-authenticate'), `Token ${token}`);
    assert.equal(index.headers.get('x-docker-endpoints'), wharf.host);
    // 3, 5. Docker -> Registry: DELETE with the token -> 200.
    assert.equal((await send(wharf, { method: 'DELETE', path: '/v1/repositories/samalba/busybox/', headers: { authorization: `Token ${token}` } })).status, 200);
    // 6. Docker -> Index: DELETE (Basic, X-Docker-Endpoints) -> 200.
    assert.equal((await send(wharf, { method: 'DELETE', path: '/v1/repositories/samalba/busybox/', headers: { ...user, 'x-docker-endpoints': wharf.host } })).status, 200);
    const gone = await send(wharf, { method: 'GET', path: '/v1/repositories/samalba/busybox/tags', headers: user });
    assert.deepEqual([gone.status, JSON.parse(gone.body)], [404, { error: 'Repository not found' }]);
  });
});

describe('hub_registry_spec standalone: Basic on every request, no index tokens needed', () => {
  let wharf: TestWharf;
  const image = v1Image({ 'standalone.txt': 'alone' });
  const user = basic('solo', 'solo-pw');

  before(async () => {
    wharf = await startTestWharf({ auth: { mode: 'htpasswd', signup: true } });
    assert.equal((await send(wharf, { method: 'POST', path: '/v1/users', body: JSON.stringify({ username: 'solo', password: 'solo-pw', email: '' }) })).status, 201);
  });
  after(() => wharf.close());

  test('ping says standalone; push and pull run on Basic alone', async () => {
    assert.equal((await send(wharf, { method: 'GET', path: '/v1/_ping' })).headers.get('x-docker-registry-standalone'), 'true');
    const steps: [Step, number][] = [
      [{ method: 'PUT', path: '/v1/repositories/solo/app/', headers: user, body: JSON.stringify([{ id: image.id }]) }, 200],
      [{ method: 'GET', path: `/v1/images/${image.id}/json`, headers: user }, 404],
      [{ method: 'PUT', path: `/v1/images/${image.id}/json`, headers: user, body: image.json }, 200],
      [{ method: 'PUT', path: `/v1/images/${image.id}/layer`, headers: user, body: image.gz }, 200],
      [{ method: 'PUT', path: `/v1/images/${image.id}/checksum`, headers: { ...user, 'x-docker-checksum-payload': image.payload } }, 200],
      [{ method: 'PUT', path: '/v1/repositories/solo/app/tags/latest', headers: user, body: JSON.stringify(image.id) }, 200],
      [{ method: 'PUT', path: '/v1/repositories/solo/app/images', headers: user, body: JSON.stringify([{ id: image.id, checksum: image.payload }]) }, 204],
      [{ method: 'GET', path: '/v1/repositories/solo/app/images', headers: user }, 200],
      [{ method: 'GET', path: '/v1/repositories/solo/app/tags/latest', headers: user }, 200],
      [{ method: 'GET', path: `/v1/images/${image.id}/ancestry`, headers: user }, 200],
      [{ method: 'GET', path: `/v1/images/${image.id}/json`, headers: user }, 200],
      [{ method: 'GET', path: `/v1/images/${image.id}/layer`, headers: user }, 200],
    ];
    for (const [step, status] of steps) {
      const res = await send(wharf, step);
      assert.equal(res.status, status, `${step.method} ${step.path}: ${res.body}`);
      assert.equal(res.headers.get('x-docker-token'), null, 'no token unless asked for');
    }
    const anonymous = await send(wharf, { method: 'GET', path: '/v1/repositories/solo/app/tags' });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="wharf"');
  });
});
