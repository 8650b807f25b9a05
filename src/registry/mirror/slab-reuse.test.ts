// Tries to make a follower (or the ingest) see bytes of a slab that went back to the pool (a review's test, kept).
// Every slab is poisoned (0xEE) the moment its count reaches zero, so a reader that still reads it without a
// reference sees poison instead of the blob's bytes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Slab, SlabPool } from '../../base/slab-pool.ts';
import { createLogger } from '../../base/log.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { FsDriver } from '../../store/fs-driver.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { BlobFetches, type FetchSource } from './blob-fetches.ts';
import type { BlobStore } from '../../store/blob-store.ts';

const logger = createLogger({ level: 'silent' });
const period = 1_000_003; // not a multiple of the slab size: a reused slab's old bytes never look right
const block = randomBytes(period);
const stats = { puts: 0, takes: 0, live: 0 };

// Poison on the last release (put is only called then).
const put = SlabPool.prototype.put;
SlabPool.prototype.put = function (slab: Slab) {
  stats.puts++;
  slab.bytes.fill(0xee);
  put.call(this, slab);
};
const take = SlabPool.prototype.take;
SlabPool.prototype.take = function () {
  stats.takes++;
  return take.call(this);
};

function expected(at: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; ) {
    const from = (at + i) % period;
    const n = Math.min(period - from, length - i);
    block.copy(out, i, from, from + n);
    i += n;
  }
  return out;
}

function digestOf(size: number): string {
  const h = createHash('sha256');
  for (let at = 0; at < size; at += 4 << 20) h.update(expected(at, Math.min(4 << 20, size - at)));
  return `sha256:${h.digest('hex')}`;
}

/** A borrowed body: one buffer, overwritten for every chunk (as rawGet may), fast, optionally dying at `dieAt`. */
function source(size: number, opts: { chunk?: number; dieAt?: number; delayEvery?: number } = {}): FetchSource {
  const chunk = opts.chunk ?? 65536;
  return {
    name: 'scratch',
    open: async (signal) => {
      let ended = false;
      let destroyed = false;
      const buf = Buffer.allocUnsafe(chunk);
      async function* body(): AsyncGenerator<Uint8Array> {
        let n = 0;
        for (let at = 0; at < size; ) {
          if (signal.aborted || destroyed) throw signal.reason ?? new Error('destroyed');
          if (opts.dieAt !== undefined && at >= opts.dieAt) throw new Error('upstream died');
          const len = Math.min(chunk, size - at);
          expected(at, len).copy(buf, 0);
          at += len;
          if (opts.delayEvery && ++n % opts.delayEvery === 0) await sleep(1);
          else await Promise.resolve();
          yield buf.subarray(0, len);
          buf.fill(0x55); // the borrowed chunk is reused once the next is asked for
        }
        ended = true;
      }
      const it = body();
      return {
        size,
        stream: {
          get readableEnded() {
            return ended;
          },
          destroy() {
            destroyed = true;
          },
          [Symbol.asyncIterator]: () => it,
        },
      };
    },
  };
}

type Client = { kind: string; range?: [number, number]; delayMs?: number; destroyAfter?: number; pauseAt?: number };

async function serve(fetches: BlobFetches, digest: string, src: FetchSource) {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
      const range = m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
      const followed = await fetches.follow(digest, src, range);
      res.setHeader('content-length', range ? range.end - range.start + 1 : followed.size);
      res.statusCode = range ? 206 : 200;
      const gone = new AbortController();
      res.once('close', () => gone.abort(new Error('client went away')));
      try {
        await followed.copyTo(res, gone.signal);
        res.end();
      } catch {
        res.destroy();
      }
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** Reads the body; checks every received byte against the blob; true when complete. */
function client(port: number, size: number, c: Client): Promise<{ kind: string; got: number; complete: boolean; wrongAt?: number }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = c.range ? { range: `bytes=${c.range[0]}-${c.range[1]}` } : {};
    const start = c.range?.[0] ?? 0;
    const want = c.range ? c.range[1] - c.range[0] + 1 : size;
    let got = 0;
    let wrongAt: number | undefined;
    const req = get({ host: '127.0.0.1', port, path: '/blob', headers }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (wrongAt === undefined && !chunk.equals(expected(start + got, chunk.byteLength))) {
          const exp = expected(start + got, chunk.byteLength);
          let i = 0;
          while (chunk[i] === exp[i]) i++;
          wrongAt = start + got + i;
        }
        got += chunk.byteLength;
        if (c.destroyAfter !== undefined && got >= c.destroyAfter) req.destroy();
        if (c.delayMs) {
          res.pause();
          setTimeout(() => res.resume(), c.delayMs);
        }
        if (c.pauseAt !== undefined && got >= c.pauseAt) {
          res.pause();
          setTimeout(() => req.destroy(), 1500);
        }
      });
      const done = () => resolve({ kind: c.kind, got, complete: got === want, wrongAt });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    req.on('error', () => resolve({ kind: c.kind, got, complete: got === want, wrongAt }));
  });
}

async function withStore(kind: 'fs' | 'memory', work: (store: BlobStore) => Promise<void>): Promise<void> {
  if (kind === 'memory') return work(new DriverBlobStore({ driver: new MemoryDriver() }));
  const root = await mkdtemp(join(tmpdir(), 'review-slabs-'));
  try {
    await work(new DriverBlobStore({ driver: new FsDriver({ root }) }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function scenario(storeKind: 'fs' | 'memory', size: number, clients: Client[], src: (size: number) => FetchSource, expectStored: boolean) {
  await withStore(storeKind, async (store) => {
    const digest = digestOf(size);
    const fetches = new BlobFetches({ blobs: store, logger });
    const s = src(size);
    const server = await serve(fetches, digest, s);
    const { port } = server.address() as AddressInfo;
    try {
      const results = await Promise.all(clients.map(async (c, i) => (await sleep(i * 3), client(port, size, c))));
      for (const r of results) assert.equal(r.wrongAt, undefined, `${r.kind}: wrong byte at ${r.wrongAt} (got ${r.got})`);
      if (expectStored) {
        const info = await store.stat(digest);
        assert.equal(info?.size, size, 'stored');
        const h = createHash('sha256');
        for await (const chunk of await store.read(digest)) h.update(chunk as Uint8Array);
        assert.equal(`sha256:${h.digest('hex')}`, digest, 'stored bytes');
      }
    } finally {
      server.closeAllConnections();
      server.close();
      await fetches.close?.();
    }
  });
}

const many = (): Client[] => [
  { kind: 'fast' },
  { kind: 'fast2' },
  { kind: 'slow5ms', delayMs: 5 },
  { kind: 'slow20ms', delayMs: 20 },
  { kind: 'gone1M', destroyAfter: 1 << 20 },
  { kind: 'gone7M', destroyAfter: 7 << 20 },
  { kind: 'gone13M+', destroyAfter: (13 << 20) + 12345 },
  { kind: 'stalls', pauseAt: 3 << 20 },
  { kind: 'stalls2', pauseAt: 9 << 20 },
  { kind: 'range', range: [5_000_001, 17_654_321] },
  { kind: 'range-tail', range: [20_000_000, 24 * 1024 * 1024 - 1] },
  { kind: 'fast3' },
];

for (const storeKind of ['fs', 'memory'] as const) {
  test(`${storeKind}: many followers, slow, stalled and gone, never see a reused slab`, { timeout: 240_000 }, async () => {
    await scenario(storeKind, 24 * 1024 * 1024, many(), (size) => source(size, { delayEvery: 8 }), true);
  });

  test(`${storeKind}: the upstream dies while followers hold slabs`, { timeout: 240_000 }, async () => {
    await scenario(storeKind, 24 * 1024 * 1024, many(), (size) => source(size, { dieAt: 11 << 20, delayEvery: 8 }), false);
  });
}

/** A sink that calls back late and checks, at callback time, that the bytes it was given are unchanged. */
test('a late-calling sink (and one destroyed with writes pending) sees its chunks unchanged until it calls back', { timeout: 240_000 }, async () => {
  await withStore('fs', async (store) => {
    const size = 20 * 1024 * 1024;
    const digest = digestOf(size);
    const fetches = new BlobFetches({ blobs: store, logger });
    const src = source(size, { delayEvery: 4 });
    const problems: string[] = [];
    const run = async (destroyAt: number | undefined, lateMs: number) => {
      const followed = await fetches.follow(digest, src);
      let at = 0;
      const sink = new Writable({
        highWaterMark: 1 << 20,
        write(chunk: Buffer, _e, cb) {
          const copy = Buffer.from(chunk);
          const pos = at;
          at += chunk.byteLength;
          if (!copy.equals(expected(pos, copy.byteLength))) problems.push(`wrong at write ${pos}`);
          setTimeout(() => {
            if (!chunk.equals(copy)) problems.push(`chunk at ${pos} changed before its callback`);
            cb();
          }, lateMs);
          if (destroyAt !== undefined && at >= destroyAt) setImmediate(() => sink.destroy());
        },
      });
      return followed.copyTo(sink).then(
        () => 'ok',
        (e: Error) => `rejected: ${e.message}`,
      );
    };
    await Promise.all([run(undefined, 0), run(undefined, 30), run(3 << 20, 50), run(8 << 20, 200), run(undefined, 5)]);
    await sleep(500);
    assert.deepEqual(problems, []);
    await fetches.close?.();
  });
});

/** An fs driver whose writers are slow (each write waits first) and may fail once `failAt` bytes are in. */
function slowFs(root: string, opts: { delayMs: number; failAt?: number }): FsDriver {
  const driver = new FsDriver({ root });
  const writer = driver.writer.bind(driver);
  driver.writer = async (path, o) => {
    const w = await writer(path, o);
    const write = w.write.bind(w);
    (w as { write: typeof w.write }).write = async (source, wo) => {
      await sleep(opts.delayMs);
      if (opts.failAt !== undefined && w.size >= opts.failAt) {
        // Consume the source (as a driver mid-writev would), then fail: the chunk must not be read after this.
        for await (const _ of source as AsyncIterable<Uint8Array>) void _;
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
      return write(source, wo);
    };
    return w;
  };
  return driver;
}

for (const [name, opts, stored] of [
  ['a slow disk (the source paces on the unwritten bytes)', { delayMs: 15 }, true],
  ['a disk that fails at 9 MiB', { delayMs: 2, failAt: 9 << 20 }, false],
] as const) {
  test(`fs: ${name}: followers never see a reused slab`, { timeout: 240_000 }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'review-slabs-'));
    try {
      const store = new DriverBlobStore({ driver: slowFs(root, opts) });
      const size = 24 * 1024 * 1024;
      const digest = digestOf(size);
      const fetches = new BlobFetches({ blobs: store, logger });
      const s = source(size, { delayEvery: 16 });
      const server = await serve(fetches, digest, s);
      const { port } = server.address() as AddressInfo;
      try {
        const results = await Promise.all(many().map(async (c, i) => (await sleep(i * 3), client(port, size, c))));
        for (const r of results) assert.equal(r.wrongAt, undefined, `${r.kind}: wrong byte at ${r.wrongAt}`);
        assert.equal(Boolean(await store.stat(digest)), stored);
      } finally {
        server.closeAllConnections();
        server.close();
        await fetches.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}

test('fs: a lone client that stops reading (connection kept) holds the fetch back ~1 s only; its slabs come back once it goes', { timeout: 120_000 }, async () => {
  await withStore('fs', async (store) => {
    const size = 16 * 1024 * 1024;
    const digest = digestOf(size);
    const fetches = new BlobFetches({ blobs: store, logger });
    const server = await serve(fetches, digest, source(size, { delayEvery: 16 }));
    const { port } = server.address() as AddressInfo;
    const before = { ...stats };
    const started = Date.now();
    let req!: import('node:http').ClientRequest;
    req = get({ host: '127.0.0.1', port, path: '/blob' }, (res) => {
      let got = 0;
      res.on('data', (c: Buffer) => {
        got += c.byteLength;
        if (got > 2 << 20) res.pause();
      });
    });
    req.on('error', () => {});
    const follow = await fetches.follow(digest, source(size));
    await follow.stored;
    const ms = Date.now() - started;
    req.destroy();
    await sleep(300);
    assert.ok(ms < 10_000);
    assert.equal(stats.takes - stats.puts, before.takes - before.puts, 'every slab taken came back once the client went');
    server.closeAllConnections();
    server.close();
    await fetches.close();
  });
});

test('fs: BlobFetches.close (abort) mid-fetch with followers writing', { timeout: 120_000 }, async () => {
  await withStore('fs', async (store) => {
    const size = 24 * 1024 * 1024;
    const digest = digestOf(size);
    const fetches = new BlobFetches({ blobs: store, logger });
    const server = await serve(fetches, digest, source(size, { delayEvery: 2 }));
    const { port } = server.address() as AddressInfo;
    const pending = many().map(async (c, i) => (await sleep(i * 3), client(port, size, c)));
    await sleep(150);
    await fetches.close();
    const results = await Promise.all(pending);
    for (const r of results) assert.equal(r.wrongAt, undefined, `${r.kind}: wrong byte at ${r.wrongAt}`);
    await sleep(200);
    server.closeAllConnections();
    server.close();
  });
});
