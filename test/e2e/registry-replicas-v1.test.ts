import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { V1Client, type V1PushImage } from '../../src/client/v1/v1-client.ts';
import { type TestV1Image, v1Image } from '../../src/registry/v1/test-v1.ts';
import { type Haproxy, startHaproxy } from '../support/haproxy.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfProcess, type WharfProcess } from '../support/wharf.ts';

const pushable = (image: TestV1Image): V1PushImage => ({ id: image.id, json: image.json, layer: () => image.gz });
const credentials = { username: 'alice', password: 'alice-pw' };
const basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;

/** The X-Docker-Token an index hands docker 1.x (Basic + `X-Docker-Token: true`), and the answer's status. */
async function indexToken(base: string, method: 'GET' | 'PUT', path: string): Promise<string> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: basic, 'x-docker-token': 'true', 'content-type': 'application/json' },
    ...(method === 'PUT' ? { body: '[]' } : {}),
  });
  assert.ok(res.status === 200 || res.status === 201, `${method} ${path}: ${res.status} ${await res.text()}`);
  const token = res.headers.get('x-docker-token');
  assert.ok(token, 'the index answered an X-Docker-Token');
  return token;
}

// The legacy index (auth token): two `wharf registry serve` on one PostgreSQL and one root. docker 1.x takes its
// token from the index and sends it to the registry endpoint, which behind a balancer is any replica.
describe('v1 index tokens across registry replicas', () => {
  let postgres: Postgres;
  let tmp: TempDir;
  let root: string;
  const replicas: WharfProcess[] = [];
  let haproxy: Haproxy;
  const spawn = (port?: number) =>
    spawnWharfProcess({ root, port, args: ['--meta-url', postgres.url, '--auth', 'token'], env: { WHARF_AUTH_SIGNUP: 'true' } });

  before(async () => {
    tmp = makeTempDir('wharf-replicas-v1-');
    root = join(tmp.path, 'root');
    postgres = await startPostgres();
    for (let i = 0; i < 2; i++) replicas.push(await spawn());
    haproxy = await startHaproxy({ backends: replicas.map((r) => r.host) });
    assert.equal(await new V1Client(replicas[0].url, { credentials }).login('alice@example.com'), 'created');
  });

  after(async () => {
    await haproxy?.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await postgres?.close();
    tmp?.remove();
  });

  test('a token replica A issued is accepted by replica B, and after B restarts; a session cookie B set, by A', async () => {
    const [a, b] = replicas;
    const image = v1Image({ 'a.txt': 'pushed through a' });
    await new V1Client(a.url, { credentials }).push('alice/app', [pushable(image)], 'v1');

    const read = await indexToken(a.url, 'GET', '/v1/repositories/alice/app/images');
    assert.equal((await fetch(`${b.url}/v1/repositories/alice/app/tags`)).status, 401, 'B refuses an anonymous caller');
    const tags = await fetch(`${b.url}/v1/repositories/alice/app/tags`, { headers: { authorization: `Token ${read}` } });
    assert.equal(tags.status, 200, await tags.clone().text());
    assert.deepEqual(await tags.json(), { v1: image.id });
    const forged = read.replace(/\.([A-Za-z0-9_-])([A-Za-z0-9_-]{42}),/, (_m, c: string, rest: string) => `.${c === 'A' ? 'B' : 'A'}${rest},`);
    assert.notEqual(forged, read);
    assert.equal((await fetch(`${b.url}/v1/repositories/alice/app/tags`, { headers: { authorization: `Token ${forged}` } })).status, 401, 'B verifies, not trusts');

    const cookie = tags.headers.getSetCookie().find((c) => c.startsWith('session='))?.split(';')[0];
    assert.ok(cookie, 'B set the session cookie');
    assert.equal((await fetch(`${a.url}/v1/images/${image.id}/json`, { headers: { cookie } })).status, 200);

    // A write token from A, the image upload on B: docker 1.x's push when the index names another endpoint.
    const write = await indexToken(a.url, 'PUT', '/v1/repositories/alice/other/');
    const next = v1Image({ 'b.txt': 'uploaded to b' });
    const json = await fetch(`${b.url}/v1/images/${next.id}/json`, { method: 'PUT', body: next.json, headers: { authorization: `Token ${write}`, 'content-type': 'application/json' } });
    assert.equal(json.status, 200, await json.text());

    await b.stop();
    replicas[1] = await spawn(Number(new URL(b.url).port));
    const again = await fetch(`${replicas[1].url}/v1/repositories/alice/app/tags`, { headers: { authorization: `Token ${read}` } });
    assert.equal(again.status, 200, 'the key survives a restart');
  });

  // haproxy balances each request round robin, so the index's token is checked by both replicas in turn.
  test('docker 1.x pushes and pulls through haproxy', async () => {
    const base = v1Image({ 'base.txt': 'base' });
    const top = v1Image({ 'top.txt': 'top' }, base.id);
    const pusher = new V1Client(haproxy.url, { credentials });
    await pusher.push('alice/lb', [pushable(base), pushable(top)], 'latest');
    assert.ok(pusher.log.some((c) => c.requestHeaders.authorization?.startsWith('Token ')), 'the registry calls carried the index token');
    const pulled = await new V1Client(haproxy.url, { credentials }).pull('alice/lb', 'latest');
    assert.deepEqual(pulled.map((i) => i.id).sort(), [base.id, top.id].sort());
  });

  // Last: it changes the key. Also the rotation recipe of docs/architecture.md ("Replicas").
  test('the key is the database\'s: deleted, a restarted replica makes a new one and refuses older tokens until the other restarts', async () => {
    const token = await indexToken(replicas[0].url, 'GET', '/v1/repositories/alice/app/images');
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try {
      assert.equal((await db.query("DELETE FROM auth_secrets WHERE name = 'v1-index-token'")).rowCount, 1);
    } finally {
      await db.end();
    }
    const tags = (r: WharfProcess, t: string) => fetch(`${r.url}/v1/repositories/alice/app/tags`, { headers: { authorization: `Token ${t}` } });
    for (const i of [1, 0]) {
      await replicas[i].stop();
      replicas[i] = await spawn(Number(new URL(replicas[i].url).port));
      assert.equal((await tags(replicas[i], token)).status, 401, `replica ${i} has the new key`);
    }
    const fresh = await indexToken(replicas[1].url, 'GET', '/v1/repositories/alice/app/images');
    assert.equal((await tags(replicas[0], fresh)).status, 200, 'both replicas agree on the new key');
  });
});
