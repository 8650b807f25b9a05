import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/base/config.ts';
import { startWharf } from '../../src/main/start-wharf.ts';
import { openPgPool } from '../../src/meta/pg-pool.ts';
import { makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { type Postgres, startPostgres } from '../support/postgres.ts';
import { skopeoCopy, skopeoInspect, skopeoListTags } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfProcess } from '../support/wharf.ts';

const sha256 = (body: Buffer) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
// The test cluster trusts the role whatever the password; a password is in the URL so the logs can be checked for it.
const secret = 'pg-Secret-0f9e';
const withSecret = (url: string) => url.replace('postgres://wharf@', `postgres://wharf:${secret}@`);

// Real client (skopeo) against `wharf registry serve --meta-url postgres://…` as a real process: every row in
// PostgreSQL, none in a meta.db; restarted, it serves the same repositories.
describe('wharf registry serve --meta-url postgres://', () => {
  let server: Postgres;
  let tmp: TempDir;
  let image: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-registry-pg-');
    [server, image] = await Promise.all([
      startPostgres(),
      makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 2 * 1024 * 1024 + 5, format: 'oci', tag: 'v1' }),
    ]);
  });

  after(async () => {
    await server?.close();
    tmp?.remove();
  });

  test('skopeo copies an image in and back out; the rows are in PostgreSQL and survive a restart', async () => {
    const url = withSecret(await server.createDatabase('registry_e2e'));
    const root = join(tmp.path, 'root');
    const args = ['--meta-url', url];
    let wharf = await spawnWharfProcess({ root, args, logLevel: 'debug' });
    try {
      const remote = `docker://${wharf.host}/e2e/pg:v1`;
      await skopeoCopy(image.ref, remote, { preserveDigests: true });
      assert.equal((await skopeoInspect(remote)).Digest, image.manifestDigest);
      const pool = openPgPool(url);
      try {
        const { rows } = await pool.query('SELECT m.digest, t.tag FROM manifests m JOIN tags t USING (repository, digest) WHERE m.repository = $1', ['e2e/pg']);
        assert.deepEqual(rows, [{ digest: image.manifestDigest, tag: 'v1' }]);
        const links = await pool.query('SELECT digest FROM blob_links WHERE repository = $1 ORDER BY digest', ['e2e/pg']);
        assert.deepEqual(links.rows.map((r) => r.digest).sort(), [image.configDigest, image.layer.digest].sort());
      } finally {
        await pool.close();
      }
      assert.equal(existsSync(join(root, 'meta.db')), false, 'no SQLite database beside it');
      await wharf.stop();
      assert.doesNotMatch(wharf.stderr(), new RegExp(secret));

      wharf = await spawnWharfProcess({ root, args });
      const back = join(tmp.path, 'back');
      await skopeoCopy(`docker://${wharf.host}/e2e/pg:v1`, `oci:${back}:v1`, { preserveDigests: true });
      const index = JSON.parse(readFileSync(join(back, 'index.json'), 'utf8'));
      assert.equal(index.manifests[0].digest, image.manifestDigest);
      const layer = readFileSync(join(back, 'blobs', 'sha256', image.layer.digest.slice(7)));
      assert.equal(sha256(layer), image.layer.digest, 'the layer came back byte for byte');
      assert.deepEqual(await skopeoListTags(`docker://${wharf.host}/e2e/pg`), ['v1']);
    } finally {
      await wharf.stop();
    }
  });

  test('no log line of a push names the database password', async () => {
    const url = withSecret(await server.createDatabase('registry_logs'));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadConfig({ overrides: { root: join(tmp.path, 'logs-root'), meta: { url }, registry: { addr: '127.0.0.1:0' } } });
    const running = await startWharf(config, { parts: ['registry'], logger: pino({ level: 'trace' }, sink) });
    try {
      const host = (running.registryUrl ?? '').replace(/^http:\/\//, '');
      await skopeoCopy(image.ref, `docker://${host}/e2e/logs:v1`);
      assert.deepEqual(await skopeoListTags(`docker://${host}/e2e/logs`), ['v1']);
    } finally {
      await running.close();
    }
    const opened = lines.find((line) => line.includes('metadata opened'));
    assert.ok(opened, 'the start names the metadata backend');
    assert.match(opened, /postgres:\/\/wharf:\*\*\*@127\.0\.0\.1/);
    assert.equal(lines.filter((line) => line.includes(secret)).length, 0);
  });
});
