import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startDistribution } from './distribution.ts';
import { get, HttpError, pullBlob, pullImage, sha256 } from './http-puller.ts';
import { skopeoCopy } from './skopeo.ts';
import { makeRandomLayerImage } from './busybox.ts';
import { startTcpRelay } from './tcp-relay.ts';
import { makeTempDir } from './temp.ts';

const MiB = 1024 * 1024;

// The helpers of the mirror's e2e test and bench (test/e2e/registry-mirror.test.ts, bench/mirror.ts).
describe('tcp relay', () => {
  const body = randomBytes(3 * MiB);
  const digest = sha256(body);
  let server: Server;
  let target: string;

  before(async () => {
    // A registry-shaped blob endpoint: enough for the relay and the puller.
    server = createServer((req, res) => {
      if (req.url !== `/v2/r/blobs/${digest}`) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    target = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('forwards, counts connections and bytes, and throttles to the rate asked', async () => {
    const relay = await startTcpRelay(target);
    try {
      assert.deepEqual(await pullBlob(relay.url, 'r', { digest, size: body.length }), { digest, size: body.length });
      assert.equal(relay.connections(), 1);
      assert.ok(relay.bytesDown() > body.length);
      relay.throttle(2 * MiB);
      const started = Date.now();
      await pullBlob(relay.url, 'r', { digest, size: body.length });
      const seconds = (Date.now() - started) / 1000;
      assert.ok(seconds > 1.3 && seconds < 4, `3 MiB at 2 MiB/s took ${seconds} s`);
    } finally {
      await relay.close();
    }
  });

  test('kill() cuts a transfer (the client sees an error, not an end) and refuses new connections until revive()', async () => {
    const relay = await startTcpRelay(target, { bytesPerSecond: MiB });
    try {
      const res = await get(`${relay.url}/v2/r/blobs/${digest}`, {});
      let received = 0;
      const outcome = await new Promise<string>((resolve) => {
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= MiB / 4) void relay.kill();
        });
        res.once('error', (err) => resolve(`error: ${err.message}`));
        res.once('end', () => resolve('end'));
      });
      assert.match(outcome, /^error/);
      assert.ok(received < body.length);
      await assert.rejects(fetch(`${relay.url}/v2/`), 'refused while killed');
      await relay.revive();
      relay.throttle(undefined);
      await pullBlob(relay.url, 'r', { digest, size: body.length });
    } finally {
      await relay.close();
    }
  });
});

describe('distribution options for the mirror', () => {
  test('accessLog lists the requests; proxy makes a pull-through cache of another distribution', async () => {
    const tmp = makeTempDir('wharf-mirror-support-');
    const upstream = await startDistribution({ accessLog: true });
    const proxy = await startDistribution({ proxy: { remoteUrl: upstream.url } });
    try {
      const image = await makeRandomLayerImage(tmp.path, { layerBytes: 64 * 1024, format: 'oci', tag: '1' });
      await skopeoCopy(image.ref, `docker://${upstream.host}/p/img:1`, { preserveDigests: true });
      const pulled = await pullImage(proxy.url, 'p/img', '1');
      assert.equal(pulled.manifestDigest, image.manifestDigest);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(upstream.requests().some((r) => r.method === 'GET' && r.path === `/v2/p/img/blobs/${image.layer.digest}` && r.status === 200));
      await assert.rejects(pullImage(proxy.url, 'p/none', '1'), (err) => err instanceof HttpError && err.status === 404);
    } finally {
      await proxy.close();
      await upstream.close();
      tmp.remove();
    }
  });
});
