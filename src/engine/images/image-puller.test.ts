import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { isFault } from '../../base/fault.ts';
import { digestOf } from '../../oci/digest.ts';
import { createLogger } from '../../base/log.ts';
import { unsupportedMediaTypeCode } from '../../client/image-resolver.ts';
import { parseReference } from '../../client/reference.ts';
import { RegistryClient } from '../../client/registry-client.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { RecordingSnapshotter } from '../../../test/support/recording-snapshotter.ts';
import { BlobLeases } from './blob-leases.ts';
import { ImagePuller } from './image-puller.ts';
import { ImageStore } from './image-store.ts';
import { LayerUnpacker } from './layer-unpacker.ts';

/**
 * The mirror failures moby does NOT pass on (continueOnError): a cancelled pull, and an image of a type no endpoint
 * can pull. The next mirror must see no request. (The failures that do pass on are in test/e2e/engine-mirrors.)
 */
describe('ImagePuller over registry mirrors', () => {
  let first: { server: Server; url: string; handle: (req: IncomingMessage, res: ServerResponse) => void };
  let second: { server: Server; url: string; paths: string[] };
  let dir: string;
  let puller: ImagePuller;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-puller-'));
    first = { ...(await listen((req, res) => first.handle(req, res))), handle: () => undefined };
    const paths: string[] = [];
    second = { ...(await listen((req, res) => void (paths.push(req.url ?? ''), res.writeHead(404).end()))), paths };
    puller = pullerIn(dir, new RegistryClient({ registryMirrors: [`${first.url}/`, `${second.url}/`] }));
  });
  after(() => {
    first.server.close();
    second.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an image type that cannot be pulled stops at the mirror that served it', async () => {
    first.handle = (req, res) => {
      assert.equal(req.url, '/v2/library/busybox/manifests/latest');
      const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.plugin.v1+json', config: {}, layers: [] });
      res.writeHead(200, { 'content-type': 'application/vnd.docker.plugin.v1+json' }).end(body);
    };
    await assert.rejects(puller.pull(parseReference('busybox')), (err) => isFault(err) && err.code === unsupportedMediaTypeCode);
    assert.deepEqual(second.paths, []);
  });

  test('a cancelled pull is not passed on to the next mirror', async () => {
    const asked = Promise.withResolvers<void>();
    first.handle = () => asked.resolve(); // never answers
    const abort = new AbortController();
    const pulling = puller.pull(parseReference('busybox'), { signal: abort.signal });
    await asked.promise;
    abort.abort();
    await assert.rejects(pulling, { name: 'AbortError' });
    assert.deepEqual(second.paths, []);
  });
});

test('a layer body longer than its descriptor is cut off at its size, not stored to the end', async () => {
  const layerDigest = `sha256:${'b'.repeat(64)}`;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size: 1024 }],
  });
  let sent = 0;
  const registry = await listen((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200).end('{}');
    if (req.url?.includes('/manifests/')) return void res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }).end(manifest);
    if (req.url?.endsWith(digestOf(config))) return void res.writeHead(200).end(config);
    // A chunked body that goes on until the client stops reading (bounded: 256 MiB).
    res.writeHead(200);
    const piece = Buffer.alloc(64 * 1024, 1);
    const more = () => {
      while (!res.destroyed && sent < 256 * 1024 * 1024) {
        sent += piece.length;
        if (!res.write(piece)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  const dir = mkdtempSync(join(tmpdir(), 'wharf-puller-'));
  try {
    const puller = pullerIn(dir, new RegistryClient());
    const host = new URL(registry.url).host;
    await assert.rejects(puller.pull(parseReference(`${host}/team/app:latest`)), (err) => isFault(err, 'too-large'));
    assert.ok(sent < 64 * 1024 * 1024, `the registry sent ${sent} bytes before the pull stopped reading`);
  } finally {
    registry.server.close();
    registry.server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A one-layer image (an uncompressed tar holding one file) served by a registry whose layer GET `serveLayer` answers. */
async function oneLayerRegistry(layer: Buffer, serveLayer: (res: ServerResponse) => void): Promise<{ server: Server; host: string; layerGets: () => number }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: digestOf(layer), size: layer.length }],
  });
  let layerGets = 0;
  const { server, url } = await listen((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200).end('{}');
    if (req.url?.includes('/manifests/')) return void res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }).end(manifest);
    if (req.url?.endsWith(digestOf(config))) return void res.writeHead(200).end(config);
    layerGets++;
    serveLayer(res);
  });
  return { server, host: new URL(url).host, layerGets: () => layerGets };
}

async function tarOf(name: string, content: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('a pull waiting on another pull\'s download of a layer leaves at its own abort, and downloads the layer itself when that one fails', async () => {
  const layer = await tarOf('hello.txt', 'hello');
  const release = Promise.withResolvers<void>();
  const asked = Promise.withResolvers<void>();
  // Registry A holds the layer, then sends bytes of the right length that are not the layer.
  const a = await oneLayerRegistry(layer, (res) => {
    asked.resolve();
    void release.promise.then(() => res.writeHead(200).end(Buffer.alloc(layer.length, 0x61)));
  });
  const b = await oneLayerRegistry(layer, (res) => res.writeHead(200).end(layer));
  const dir = mkdtempSync(join(tmpdir(), 'wharf-puller-'));
  try {
    const puller = pullerIn(dir, new RegistryClient());
    const fromA = puller.pull(parseReference(`${a.host}/team/app:latest`)).catch((err: unknown) => err);
    await asked.promise;
    const abort = new AbortController();
    const joinedLayers = Promise.withResolvers<void>();
    const joined = puller
      .pull(parseReference(`${b.host}/team/app:latest`), { signal: abort.signal, progress: (event) => event.status === 'Pulling fs layer' && joinedLayers.resolve() })
      .catch((err: unknown) => err);
    // Its layer downloads start right after it says 'Pulling fs layer'; a moment more, and it waits on A's.
    await joinedLayers.promise;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(b.layerGets(), 0, 'the second pull joined the first one\'s download');
    abort.abort();
    assert.equal(((await joined) as Error).name, 'AbortError', 'it left at its own abort, the download still held');
    const waitingLayers = Promise.withResolvers<void>();
    const waiting = puller.pull(parseReference(`${b.host}/team/app:latest`), { progress: (event) => event.status === 'Pulling fs layer' && waitingLayers.resolve() });
    await waitingLayers.promise;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(b.layerGets(), 0, 'the third pull joined A\'s download too');
    release.resolve();
    assert.ok(isFault(await fromA, 'invalid-argument'), `the pull from A: ${String(await fromA)}`);
    await waiting;
    assert.equal(b.layerGets(), 1, 'the layer came from B once A\'s download failed');
  } finally {
    for (const { server } of [a, b]) {
      server.close();
      server.closeAllConnections();
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An ImagePuller over an in-memory blob store, its image records and leases under `dir`. */
function pullerIn(dir: string, registry: RegistryClient): ImagePuller {
  const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
  return new ImagePuller({
    store: new ImageStore({ dir, blobs }),
    blobs,
    unpacker: new LayerUnpacker({ blobs, snapshotter: new RecordingSnapshotter() }),
    registry,
    leases: new BlobLeases(join(dir, 'leases')),
    logger: createLogger({ level: 'silent' }),
  });
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
