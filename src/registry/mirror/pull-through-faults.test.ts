// PullThrough against upstreams that misbehave in ways a real registry does not on demand: local node:http servers
// that trickle a blob, 404 everything, send a manifest wharf cannot parse, or accept and never answer. The real
// upstream (distribution 2.8) is exercised in pull-through.test.ts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../base/config.ts';
import { isFault } from '../../base/fault.ts';
import { createLogger } from '../../base/log.ts';
import { type OpenedMeta, sqliteMeta } from '../../main/open-meta.ts';
import { upstreamsFromConfig } from '../../main/open-pull-through.ts';
import type { MirrorStore } from '../../meta/mirror-store.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { RegistryService } from '../registry-service.ts';
import { BlobFetches } from './blob-fetches.ts';
import { PullThrough } from './pull-through.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Fixture {
  pull: PullThrough;
  service: RegistryService;
  clock: { ms: number };
  warnings: string[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An upstream whose answers `handler` decides; /v2/ answers 200 (no auth). Returns its URL. */
async function upstream(handler: Handler): Promise<string> {
  const server: Server = createServer((req, res) => (req.url === '/v2/' ? res.writeHead(200).end() : handler(req, res)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function mirrorOf(routes: { prefix: string; url: string }[], options: { responseMs?: number; mirror?: (real: MirrorStore) => MirrorStore } = {}): Promise<Fixture> {
  const stores: OpenedMeta = sqliteMeta(openDatabase(':memory:'), 'sqlite :memory:');
  const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
  const config = loadConfig({ overrides: { registry: { proxy: { upstreams: routes, tagTtlSeconds: 60 } } } });
  const warnings: string[] = [];
  const logger = createLogger({ level: 'silent' });
  logger.warn = ((_obj: unknown, message: string) => void warnings.push(message)) as typeof logger.warn;
  const clock = { ms: Date.parse('2030-01-10T00:00:00Z') };
  const now = () => new Date(clock.ms);
  const service = new RegistryService({ blobs, meta: stores.meta, config, logger, mirror: stores.mirror, transaction: stores.transaction, now });
  const upstreams = upstreamsFromConfig(config.registry.proxy, { maxManifestBytes: config.registry.maxManifestBytes, timeouts: { responseMs: options.responseMs ?? 5_000 } });
  const fetches = new BlobFetches({ blobs, logger });
  const mirror = options.mirror ? options.mirror(stores.mirror) : stores.mirror;
  const pull = new PullThrough({ service, upstreams, fetches, mirror, config, logger, now });
  cleanups.push(async () => {
    await fetches.close();
    await service.close();
    await stores.close();
  });
  return { pull, service, clock, warnings };
}

function manifestOf(layer: string): { digest: string; body: Buffer } {
  const descriptor = (content: string, mediaType: string) => ({ mediaType, digest: digestOf(content), size: Buffer.byteLength(content) });
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: descriptor(`config ${layer}`, mediaTypes.ociConfig), layers: [descriptor(layer, mediaTypes.ociLayerGzip)] }));
  return { digest: digestOf(body), body };
}

/** Serves `manifest` under `tag` and its digest, with the type it is sent as. */
function serveManifest(res: ServerResponse, req: IncomingMessage, manifest: { digest: string; body: Buffer }): void {
  res.writeHead(200, { 'content-type': mediaTypes.ociManifest, 'docker-content-digest': manifest.digest, 'content-length': manifest.body.length });
  res.end(req.method === 'HEAD' ? undefined : manifest.body);
}

const notFound: Handler = (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');

/** The bytes a GET sends of a blob being fetched: its copy into a sink that keeps a copy of each chunk. */
async function sentBytes(copyTo: ((sink: Writable) => Promise<number>) | undefined): Promise<Buffer> {
  assert.ok(copyTo, 'a GET of a blob being fetched copies it');
  const chunks: Buffer[] = [];
  await copyTo(new Writable({ write: (chunk: Buffer, _encoding, callback) => (chunks.push(Buffer.from(chunk)), callback()) }));
  return Buffer.concat(chunks);
}

test('a blob being fetched for one upstream is served to, and linked in, another repository only when its own upstream has it', async () => {
  const blob = Buffer.alloc(256 * 1024, 3);
  const digest = digestOf(blob);
  const trickle: Handler = (req, res) => {
    if (req.url !== `/v2/x/blobs/${digest}`) return notFound(req, res);
    res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
    let at = 0;
    const timer = setInterval(() => {
      res.write(blob.subarray(at, (at += 16 * 1024)));
      if (at >= blob.length) {
        clearInterval(timer);
        res.end();
      }
    }, 30);
    res.once('close', () => clearInterval(timer));
  };
  const has: Handler = (req, res) => (req.method === 'HEAD' && req.url === `/v2/z/blobs/${digest}` ? res.writeHead(200, { 'content-length': blob.length }).end() : notFound(req, res));
  const { pull, service } = await mirrorOf([
    { prefix: 'a/', url: await upstream(trickle) },
    { prefix: 'b/', url: await upstream(notFound) },
    { prefix: 'c/', url: await upstream(has) },
  ]);
  const first = await pull.blob('a/x', digest, { head: false });
  assert.equal(first.local, false);
  const firstBytes = first.local ? undefined : sentBytes(first.copyTo);
  await sleep(100);
  await assert.rejects(pull.blob('b/y', digest, { head: false }), (err) => isFault(err, 'not-found') && err.code === 'BLOB_UNKNOWN');
  const joined = await pull.blob('c/z', digest, { head: false });
  assert.ok(!joined.local && joined.copyTo);
  assert.ok((await sentBytes(joined.copyTo)).equals(blob));
  assert.ok((await firstBytes)?.equals(blob));
  await sleep(100);
  assert.deepEqual(await service.statBlob('a/x', digest), { digest, size: blob.length });
  assert.deepEqual(await service.statBlob('c/z', digest), { digest, size: blob.length });
  await assert.rejects(service.statBlob('b/y', digest), (err) => isFault(err, 'not-found'));
  await assert.rejects(pull.blob('b/y', digest, { head: true }), (err) => isFault(err, 'not-found'), 'stored now, still not b/y’s');
});

test('a manifest the upstream sends that wharf cannot parse is the upstream’s failure: 503, and a stored tag is served stale', async () => {
  const good = manifestOf('good');
  const bad = { body: Buffer.from('this is not a manifest'), digest: digestOf('this is not a manifest') };
  let current = good;
  const url = await upstream((req, res) => {
    if (req.url === '/v2/x/manifests/v1' || req.url === `/v2/x/manifests/${current.digest}`) return serveManifest(res, req, current);
    if (req.url === '/v2/x/manifests/v2' || req.url === `/v2/x/manifests/${bad.digest}`) return serveManifest(res, req, bad);
    notFound(req, res);
  });
  const { pull, clock, warnings } = await mirrorOf([{ prefix: 'a/', url }]);
  assert.equal((await pull.resolveManifest('a/x', 'v1')).digest, good.digest);
  current = bad;
  clock.ms += 61_000;
  assert.equal((await pull.resolveManifest('a/x', 'v1')).digest, good.digest, 'served stale');
  assert.ok(warnings.includes('serving stale tag'));
  for (const reference of ['v2', bad.digest]) {
    await assert.rejects(pull.resolveManifest('a/x', reference), (err) => {
      assert.ok(isFault(err, 'unavailable'), String(err));
      assert.equal(err.code, 'UPSTREAM_UNAVAILABLE');
      assert.match(err.message, /^upstream a\/ sent a manifest wharf cannot use: /);
      return true;
    });
  }
});

test('a failed re-check holds the tag: the next pulls are served stale at once, and it is asked again after min(ttl, 30 s)', async () => {
  const manifest = manifestOf('held');
  let silent = false;
  let asked = 0;
  const url = await upstream((req, res) => {
    if (!req.url?.startsWith('/v2/x/manifests/')) return notFound(req, res);
    asked++;
    // Accepts and never answers, as a blackholed upstream behind a firewall that drops packets would.
    if (!silent) serveManifest(res, req, manifest);
  });
  const { pull, clock } = await mirrorOf([{ prefix: 'a/', url }], { responseMs: 300 });
  await pull.resolveManifest('a/x', 'v1');
  silent = true;
  clock.ms += 61_000;
  const before = asked;
  let started = Date.now();
  assert.equal((await pull.resolveManifest('a/x', 'v1')).digest, manifest.digest);
  assert.ok(Date.now() - started >= 300, 'the first waits for the response timeout');
  assert.equal(asked, before + 1);
  started = Date.now();
  for (let i = 0; i < 3; i++) assert.equal((await pull.resolveManifest('a/x', 'v1')).digest, manifest.digest);
  assert.ok(Date.now() - started < 300, `held: served without asking (${Date.now() - started} ms)`);
  assert.equal(asked, before + 1);
  clock.ms += 30_000;
  silent = false;
  assert.equal((await pull.resolveManifest('a/x', 'v1')).digest, manifest.digest);
  assert.equal(asked, before + 2, 'asked again once the hold is over');
});

test('a pull is served when recording its use fails: the failure is logged', async () => {
  const manifest = manifestOf('used');
  const url = await upstream((req, res) => (req.url === `/v2/x/manifests/${manifest.digest}` ? serveManifest(res, req, manifest) : notFound(req, res)));
  const { pull, clock, warnings } = await mirrorOf([{ prefix: 'a/', url }], {
    mirror: (real) => ({
      tagCheckedAt: (repository, tag) => real.tagCheckedAt(repository, tag),
      markTagChecked: (repository, tag, at) => real.markTagChecked(repository, tag, at),
      markCached: (repository, digest, at) => real.markCached(repository, digest, at),
      markUsed: async () => {
        throw new Error('database is locked');
      },
      unusedSince: (cutoff, limit) => real.unusedSince(cutoff, limit),
      forget: (repository, digest) => real.forget(repository, digest),
    }),
  });
  await pull.resolveManifest('a/x', manifest.digest);
  clock.ms += 2 * 3_600_000;
  assert.equal((await pull.resolveManifest('a/x', manifest.digest)).digest, manifest.digest);
  assert.ok(warnings.includes('mirror: could not record a pull for expiry'), String(warnings));
});
