import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRandomOciLayout, importBusybox, makeRandomLayerImage } from '../support/busybox.ts';
import { type Distribution, startDistribution } from '../support/distribution.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { get, getManifest, HttpError, pullBlob, pullImage, sha256 } from '../support/http-puller.ts';
import { metricValue, scrapeMetrics } from '../support/prometheus-text.ts';
import { runOk } from '../support/run.ts';
import { skopeo, skopeoCopy, skopeoInspectRaw } from '../support/skopeo.ts';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfProcess, type WharfProcess, wharfBin } from '../support/wharf.ts';

const MiB = 1024 * 1024;
const tagTtlSeconds = 2;

interface RegistryErrors {
  errors: { code: string; message: string }[];
}

interface Pushed {
  manifestDigest: string;
  layer: { digest: string; size: number; path: string };
}

// wharf's registry as a pull-through cache (issue 15) with real clients: dockerd (registry-mirrors), skopeo and
// plain HTTP pulls. The default upstream is distribution 2.8 behind a TCP relay the tests slow down and cut; a
// second upstream, under `w/`, is a wharf with token auth.
describe('wharf as a pull-through cache of distribution 2.8 and of a token-auth wharf', () => {
  let tmp: TempDir;
  let upstream: Distribution;
  let relay: TcpRelay;
  let tokenWharf: WharfProcess;
  let mirror: WharfProcess;
  let dockerd: Dockerd;
  let busyboxId: string;
  const pushed = new Map<string, Pushed>();

  before(async () => {
    tmp = makeTempDir('wharf-mirror-e2e-');
    upstream = await startDistribution({ accessLog: true });
    relay = await startTcpRelay(upstream.host);
    tokenWharf = await startTokenWharf(join(tmp.path, 'token-root'));
    mirror = await spawnWharfProcess({
      root: join(tmp.path, 'mirror-root'),
      args: ['--config', mirrorConfig(tokenWharf.url), '--proxy-remote-url', relay.url],
    });
    dockerd = await startDockerd({ registryMirrors: [mirror.url] });
    busyboxId = await importBusybox(dockerd, 'busybox:source');
    await dockerd.dockerOk(['tag', 'busybox:source', `${upstream.host}/library/busybox:latest`]);
    await dockerd.dockerOk(['push', `${upstream.host}/library/busybox:latest`]);
    await dockerd.dockerOk(['rmi', 'busybox:source', `${upstream.host}/library/busybox:latest`]);
    for (const name of ['skopeo/tiny', 'head/tiny', 'gone/tiny', 'corrupt/blob', 'corrupt/manifest']) {
      pushed.set(name, await pushRandomImage(upstream.host, name, 64 * 1024));
    }
    pushed.set('big/random', await pushRandomImage(upstream.host, 'big/random', 100 * MiB));
    pushed.set('kill/random', await pushRandomImage(upstream.host, 'kill/random', 24 * MiB));
    pushed.set('late/random', await pushRandomImage(upstream.host, 'late/random', 24 * MiB));
    pushed.set('alice/tiny', await pushRandomImage(tokenWharf.host, 'alice/tiny', 64 * 1024, 'alice:alice-secret'));
  });

  after(async () => {
    await dockerd?.stop();
    await mirror?.stop();
    await tokenWharf?.stop();
    await relay?.close();
    await upstream?.close();
    tmp?.remove();
  });

  async function startTokenWharf(root: string): Promise<WharfProcess> {
    await runOk(wharfBin, ['user', 'add', 'alice', '--password-stdin', '--root', root], { input: 'alice-secret\n' });
    return spawnWharfProcess({ root, args: ['--auth', 'token'] });
  }

  /** What the flags do not say: a short tag TTL and the second upstream. */
  function mirrorConfig(tokenUrl: string): string {
    const file = join(tmp.path, 'mirror.yaml');
    const upstreams = [{ prefix: 'w/', url: tokenUrl, username: 'alice', password: 'alice-secret' }];
    writeFileSync(file, JSON.stringify({ registry: { proxy: { tagTtlSeconds, upstreams } } }));
    return file;
  }

  /** A one-layer image of `layerBytes` random bytes, built on disk and copied with skopeo as `name:1`. */
  async function pushRandomImage(host: string, name: string, layerBytes: number, creds?: string): Promise<Pushed> {
    const dir = join(tmp.path, 'images', name);
    mkdirSync(dir, { recursive: true });
    const image = await makeRandomLayerImage(dir, { layerBytes, format: 'oci', tag: '1' });
    await skopeoCopy(image.ref, `docker://${host}/${name}:1`, { preserveDigests: true, destCreds: creds });
    const layerPath = join(dir, 'blobs', 'sha256', image.layer.digest.slice(7));
    return { manifestDigest: image.manifestDigest ?? '', layer: { ...image.layer, path: layerPath } };
  }

  const image = (name: string) => pushed.get(name) ?? assert.fail(`${name} was not pushed`);
  /** GETs of `path` in the upstream's access log (a line lands just after the last byte went out: wait a little). */
  const upstreamGets = async (path: string) => {
    await new Promise((r) => setTimeout(r, 300));
    return upstream.requests().filter((r) => r.method === 'GET' && r.path === path).length;
  };
  /** distribution's filesystem layout: where it keeps a blob's bytes. */
  const upstreamBlobFile = (digest: string) => join(upstream.dataDir, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');

  test('dockerd with registry-mirrors pulls busybox through wharf (docker.io is unreachable) and runs it', async () => {
    const asked = async () => {
      await new Promise((r) => setTimeout(r, 300));
      return upstream.requests().filter((r) => r.path.startsWith('/v2/library/busybox/manifests/')).length;
    };
    const before = await asked();
    const pull = await dockerd.dockerOk(['pull', 'busybox']);
    assert.match(pull, /Downloaded newer image for busybox:latest/);
    assert.equal((await dockerd.dockerOk(['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).trim(), busyboxId);
    assert.ok((await asked()) > before, 'the mirror asked its upstream for library/busybox');
    assert.equal((await dockerd.dockerOk(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'ok'])).trim(), 'ok');
  });

  test('skopeo copies an image by digest through the mirror', async () => {
    const { manifestDigest } = image('skopeo/tiny');
    const ref = `docker://${mirror.host}/skopeo/tiny@${manifestDigest}`;
    const out = join(tmp.path, 'skopeo-out');
    await skopeoCopy(ref, `oci:${out}:copied`, { preserveDigests: true });
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, manifestDigest);
    assert.equal(sha256(await skopeoInspectRaw(ref)), manifestDigest);
  });

  test('HEAD of an uncached blob fetches nothing; tags and the catalog list what is cached', async () => {
    const { layer } = image('head/tiny');
    const head = await fetch(`${mirror.url}/v2/head/tiny/blobs/${layer.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), layer.size);
    assert.equal(await upstreamGets(`/v2/head/tiny/blobs/${layer.digest}`), 0, 'HEAD asked the upstream for the size only');
    const catalog = async () => ((await (await fetch(`${mirror.url}/v2/_catalog?n=1000`)).json()) as { repositories: string[] }).repositories;
    assert.ok(!(await catalog()).includes('head/tiny'), 'nothing of it is cached yet');
    await pullImage(mirror.url, 'head/tiny', '1');
    assert.deepEqual(await (await fetch(`${mirror.url}/v2/head/tiny/tags/list`)).json(), { name: 'head/tiny', tags: ['1'] });
    assert.ok((await catalog()).includes('head/tiny'));
  });

  test('20 concurrent cold pulls of a 100 MiB image: every client gets verified bytes, the upstream sees one GET per blob', async () => {
    const { manifestDigest, layer } = image('big/random');
    const relayedBefore = relay.bytesDown();
    const pulls = await Promise.all(Array.from({ length: 20 }, () => pullImage(mirror.url, 'big/random', '1')));
    for (const pulled of pulls) {
      assert.equal(pulled.manifestDigest, manifestDigest);
      assert.ok(pulled.blobs.some((blob) => blob.digest === layer.digest && blob.size === layer.size));
    }
    const manifest = await getManifest(upstream.url, 'big/random', '1');
    for (const blob of [manifest.body.config, ...manifest.body.layers]) {
      assert.equal(await upstreamGets(`/v2/big/random/blobs/${blob.digest}`), 1, `one upstream GET of ${blob.digest}`);
    }
    const relayed = relay.bytesDown() - relayedBefore;
    assert.ok(relayed < layer.size * 1.1, `the layer crossed the upstream link once (${relayed} bytes for a ${layer.size}-byte layer)`);
  });

  test('clients that join a running fetch late get the whole blob, or the range they ask, from one upstream GET', async () => {
    const { layer } = image('late/random');
    await getManifest(mirror.url, 'late/random', '1');
    const blobUrl = `${mirror.url}/v2/late/random/blobs/${layer.digest}`;
    try {
      relay.throttle(8 * MiB);
      const first = await get(blobUrl, {});
      assert.equal(first.statusCode, 200);
      const firstDone = readUntilCut(first, 4 * MiB, () => {});
      await new Promise((r) => setTimeout(r, 1000));
      const range = { start: 3 * MiB, end: 5 * MiB - 1 };
      const [whole, ranged] = await Promise.all([
        pullBlob(mirror.url, 'late/random', layer),
        get(blobUrl, { range: `bytes=${range.start}-${range.end}` }).then(async (res) => {
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          return { status: res.statusCode, bytes: Buffer.concat(chunks) };
        }),
      ]);
      assert.equal(whole.digest, layer.digest);
      assert.equal(ranged.status, 206);
      assert.ok(ranged.bytes.equals(readFileSync(layer.path).subarray(range.start, range.end + 1)), 'the range holds the right bytes');
      const done = await firstDone;
      assert.equal(done.error, undefined);
      assert.equal(done.digest, layer.digest);
    } finally {
      relay.throttle(undefined);
    }
    assert.equal(await upstreamGets(`/v2/late/random/blobs/${layer.digest}`), 1);
  });

  test('the upstream cut mid-blob: the client sees a broken transfer of right bytes, nothing half-stored is served, the next pull fetches again', async () => {
    const { layer } = image('kill/random');
    await getManifest(mirror.url, 'kill/random', '1');
    const blobUrl = `${mirror.url}/v2/kill/random/blobs/${layer.digest}`;
    try {
      relay.throttle(4 * MiB);
      const res = await get(blobUrl, {});
      assert.equal(res.statusCode, 200);
      assert.equal(Number(res.headers['content-length']), layer.size, 'the length is announced, so a cut is visible');
      const cut = await readUntilCut(res, 2 * MiB, () => void relay.kill());
      assert.ok(cut.error, 'the transfer broke');
      assert.ok(cut.received < layer.size, `broke before the end (${cut.received} of ${layer.size})`);
      assert.equal(cut.digest, prefixDigest(layer.path, cut.received), 'what arrived is the start of the right bytes');

      const whileGone = await fetch(blobUrl);
      const body = await whileGone.text();
      assert.equal(whileGone.status, 503, `nothing half-stored is served: ${body}`);
      assert.equal(JSON.parse(body).errors[0].code, 'UNAVAILABLE');
    } finally {
      relay.throttle(undefined);
      await relay.revive();
    }
    const gets = await upstreamGets(`/v2/kill/random/blobs/${layer.digest}`);
    const again = await pullImage(mirror.url, 'kill/random', '1');
    assert.ok(again.blobs.some((blob) => blob.digest === layer.digest));
    assert.equal(await upstreamGets(`/v2/kill/random/blobs/${layer.digest}`), gets + 1, 'the next pull fetched the blob again');
  });

  test('the upstream gone: cached pulls by tag and by digest still work, within the tag TTL and after it (stale)', async () => {
    const { manifestDigest } = image('gone/tiny');
    await pullImage(mirror.url, 'gone/tiny', '1');
    try {
      await relay.kill();
      assert.equal((await pullImage(mirror.url, 'gone/tiny', '1')).manifestDigest, manifestDigest);
      assert.equal((await pullImage(mirror.url, 'gone/tiny', manifestDigest)).manifestDigest, manifestDigest);
      const staleBefore = await staleCount();
      await new Promise((r) => setTimeout(r, (tagTtlSeconds + 1) * 1000));
      assert.equal((await pullImage(mirror.url, 'gone/tiny', '1')).manifestDigest, manifestDigest, 'a stale tag is served');
      assert.ok((await staleCount()) > staleBefore, 'and counted as stale');

      const uncached = await fetch(`${mirror.url}/v2/gone/never/manifests/1`);
      assert.equal(uncached.status, 503);
      const error = ((await uncached.json()) as RegistryErrors).errors[0];
      assert.equal(error.code, 'UNAVAILABLE');
      assert.match(error.message, /upstream .* unavailable/);
    } finally {
      await relay.revive();
    }
  });

  async function staleCount(): Promise<number> {
    return metricValue(await scrapeMetrics(`${mirror.url}/metrics`), 'wharf_registry_mirror_requests_total', { kind: 'manifest', result: 'stale' });
  }

  test('a blob whose upstream bytes do not match its digest is refused and not stored', async () => {
    const { layer } = image('corrupt/blob');
    await getManifest(mirror.url, 'corrupt/blob', '1');
    const file = upstreamBlobFile(layer.digest);
    const original = readFileSync(file);
    try {
      writeFileSync(file, Buffer.from(original.map((byte) => byte ^ 0xff)));
      await assert.rejects(pullBlob(mirror.url, 'corrupt/blob', layer), (err: Error) => {
        assert.doesNotMatch(err.message, /hashing to/, 'never a whole answer with the wrong bytes');
        return err instanceof HttpError ? err.status === 503 : true;
      });
    } finally {
      writeFileSync(file, original);
    }
    const gets = await upstreamGets(`/v2/corrupt/blob/blobs/${layer.digest}`);
    await pullBlob(mirror.url, 'corrupt/blob', layer);
    assert.equal(await upstreamGets(`/v2/corrupt/blob/blobs/${layer.digest}`), gets + 1, 'nothing was kept from the bad fetch');
  });

  test('a manifest whose upstream bytes do not match its digest is refused, by tag and by digest', async () => {
    const { manifestDigest } = image('corrupt/manifest');
    const file = upstreamBlobFile(manifestDigest);
    const original = readFileSync(file);
    try {
      // Still a valid manifest, so distribution serves it: one hex digit of the layer digest changed.
      const text = original.toString('utf8');
      const at = text.lastIndexOf('"digest":"sha256:') + 17;
      writeFileSync(file, text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1));
      for (const reference of ['1', manifestDigest]) {
        const res = await fetch(`${mirror.url}/v2/corrupt/manifest/manifests/${reference}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
        const body = await res.text();
        assert.equal(res.status, 503, `${reference}: ${body}`);
        assert.match(JSON.parse(body).errors[0].message, /does not match/);
      }
    } finally {
      writeFileSync(file, original);
    }
    assert.equal((await pullImage(mirror.url, 'corrupt/manifest', '1')).manifestDigest, manifestDigest);
  });

  test('a second upstream under w/, a wharf with token auth, is pulled through with the configured credentials', async () => {
    const { manifestDigest } = image('alice/tiny');
    assert.equal((await fetch(`${tokenWharf.url}/v2/alice/tiny/manifests/1`)).status, 401, 'the upstream refuses anonymous pulls');
    assert.equal((await pullImage(mirror.url, 'w/alice/tiny', '1')).manifestDigest, manifestDigest);
    assert.equal(sha256(await skopeoInspectRaw(`docker://${mirror.host}/w/alice/tiny:1`)), manifestDigest);
  });

  test('pushes and deletes on a mirrored name are refused: 405 UNSUPPORTED, as the docker CLI and skopeo report', async () => {
    const upload = await fetch(`${mirror.url}/v2/library/busybox/blobs/uploads/`, { method: 'POST' });
    assert.equal(upload.status, 405);
    const error = ((await upload.json()) as RegistryErrors).errors[0];
    assert.equal(error.code, 'UNSUPPORTED');
    assert.match(error.message, /^POST is not supported: library\/busybox is a pull-through cache of /);
    const del = await fetch(`${mirror.url}/v2/gone/tiny/manifests/${image('gone/tiny').manifestDigest}`, { method: 'DELETE' });
    assert.equal(del.status, 405);

    await dockerd.dockerOk(['pull', 'busybox']);
    await dockerd.dockerOk(['tag', 'busybox', `${mirror.host}/library/busybox:mine`]);
    const push = await dockerd.docker(['push', `${mirror.host}/library/busybox:mine`]);
    assert.notEqual(push.code, 0);
    // Its layers are there (HEAD finds them), so the refusal comes at the manifest PUT.
    assert.match(push.stderr, /unsupported: (PUT|POST) is not supported: library\/busybox is a pull-through cache of http:\/\//);

    const layout = join(tmp.path, 'push-layout');
    await buildRandomOciLayout(layout, { layerBytes: 1024 });
    const copy = await skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${mirror.host}/refused/tiny:2`]);
    assert.notEqual(copy.code, 0);
    assert.match(copy.stderr, /unsupported: POST is not supported: refused\/tiny is a pull-through cache of http:\/\//);
  });
});

/** Reads `res` and calls `cut` once `after` bytes arrived; settles when the body ends or breaks (60 s at most). */
function readUntilCut(res: NodeJS.ReadableStream, after: number, cut: () => void): Promise<{ received: number; digest: string; error?: Error }> {
  const hash = createHash('sha256');
  let received = 0;
  let fired = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the transfer neither ended nor broke (${received} bytes)`)), 60_000);
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ received, digest: `sha256:${hash.digest('hex')}`, error });
    };
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (!fired && received >= after) {
        fired = true;
        cut();
      }
    });
    res.once('error', settle);
    res.once('end', () => settle());
    res.once('close', () => settle(new Error('closed before the end')));
  });
}

function prefixDigest(path: string, length: number): string {
  return sha256(readFileSync(path).subarray(0, length));
}
