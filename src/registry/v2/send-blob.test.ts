import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Fault } from '../../base/fault.ts';
import { createLogger } from '../../base/log.ts';
import type { BlobStore, ByteRange } from '../../store/blob-store.ts';
import { countSentBodyBytes } from '../sent-body-bytes.ts';
import { sendError } from './errors.ts';
import { sendBlob } from './send-blob.ts';

type CopyTo = (digest: string, sink: Writable, options: { range?: ByteRange; signal?: AbortSignal }) => Promise<number>;

/** Only what sendBlob uses: `read`, and `copyTo` when given. */
function fakeStore(copyTo: CopyTo | undefined, body = Buffer.from('streamed')): BlobStore {
  return { copyTo, read: async () => Readable.from([body]) } as unknown as BlobStore;
}

/**
 * GET /blob answers as the registry's getBlob does: headers first, then sendBlob; a throw becomes a registry
 * error (and is kept in `thrown`). The app logs at debug into `logs`; the body bytes sendBlob reports go to `sent`.
 */
async function serve(blobs: BlobStore, size: number): Promise<{ app: FastifyInstance; url: string; statuses: number[]; thrown: unknown[]; logs: LogLine[]; sent: number[] }> {
  const logs: LogLine[] = [];
  const sink = new Writable({ write: (line: Buffer, _encoding, done) => (logs.push(JSON.parse(line.toString())), done()) });
  const app = Fastify({ loggerInstance: pino({ level: 'debug' }, sink) as FastifyBaseLogger });
  const statuses: number[] = [];
  const thrown: unknown[] = [];
  const sent: number[] = [];
  app.addHook('onRequest', async (_request, reply) => countSentBodyBytes(reply.raw, (bytes) => sent.push(bytes)));
  app.addHook('onResponse', async (_request, reply) => void statuses.push(reply.statusCode));
  app.get('/blob', async (_request, reply) => {
    reply.header('docker-content-digest', 'sha256:x').header('content-type', 'application/octet-stream').header('content-length', size);
    try {
      return await sendBlob(reply, blobs, 'sha256:x', undefined);
    } catch (err) {
      thrown.push(err);
      return sendError(reply, err, createLogger({ level: 'silent' }));
    }
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/blob`, statuses, thrown, logs, sent };
}

interface LogLine {
  level: number;
  msg?: string;
}

/** The status, headers and body bytes, or the error a cut connection gives the client. */
function get(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; error?: Error }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      const done = (error?: Error) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done());
      res.on('error', done);
    })
      .on('error', reject)
      .end();
  });
}

test('a store with copyTo writes the body into the raw response, headers and hooks as with reply.send; its bytes are reported', async () => {
  const body = Buffer.alloc(300_000, 7);
  const { app, url, statuses, sent } = await serve(fakeStore(async (_d, sink) => (sink.write(body), body.length)), body.length);
  try {
    const res = await get(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(body.length));
    assert.equal(res.headers['docker-content-digest'], 'sha256:x');
    assert.ok(res.body.equals(body));
    assert.deepEqual(statuses, [200]);
    assert.deepEqual(sent, [body.length], 'reported once, for the whole copy');
  } finally {
    await app.close();
  }
});

test('a failure before the first byte is a registry error without the blob headers', async () => {
  const missing = async () => {
    throw new Fault('not-found', 'blob sha256:x not found', { code: 'BLOB_UNKNOWN' });
  };
  const { app, url } = await serve(fakeStore(missing), 1000);
  try {
    const res = await get(url);
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(res.body.toString()).errors[0].code, 'BLOB_UNKNOWN');
    assert.equal(res.headers['docker-content-digest'], undefined);
    assert.equal(res.headers['content-length'], String(res.body.length));
  } finally {
    await app.close();
  }
});

test('a failure after the first byte cuts the connection: the client gets a short body and an error', async () => {
  const half = async (_d: string, sink: Writable) => {
    sink.write(Buffer.alloc(1000, 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    throw new Error('disk went away');
  };
  const { app, url } = await serve(fakeStore(half), 2000);
  try {
    const res = await get(url);
    assert.equal(res.status, 200);
    assert.ok(res.error, 'the client must see the cut');
    assert.ok(res.body.length < 2000);
  } finally {
    await app.close();
  }
});

test('the copy is aborted when the client goes away', async () => {
  let seen: AbortSignal | undefined;
  const stalled: CopyTo = async (_d, sink, { signal }) => {
    seen = signal;
    sink.write(Buffer.alloc(10, 1));
    await once(signal as AbortSignal, 'abort');
    throw signal?.reason;
  };
  const { app, url } = await serve(fakeStore(stalled), 1000);
  try {
    const req = request(url, (res) => res.once('data', () => req.destroy()));
    req.on('error', () => {}).end();
    await once(req, 'close');
    while (!seen?.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
  } finally {
    await app.close();
  }
});

test('a client gone before the first byte is no registry error: logged at debug only', async () => {
  let started!: () => void;
  const copying = new Promise<void>((resolve) => (started = resolve));
  const waitForAbort: CopyTo = async (_d, _sink, { signal }) => {
    started();
    await once(signal as AbortSignal, 'abort');
    throw signal?.reason;
  };
  const { app, url, thrown, logs } = await serve(fakeStore(waitForAbort), 1000);
  try {
    const req = request(url);
    req.on('error', () => {}).end();
    await copying;
    req.destroy();
    const goneLine = () => logs.find((l) => l.msg === 'client went away before a blob download started');
    while (thrown.length === 0 && !goneLine()) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(thrown, []);
    assert.equal(goneLine()?.level, 20, 'debug');
    assert.deepEqual(logs.filter((l) => l.level >= 40), [], 'nothing at warn or error');
  } finally {
    await app.close();
  }
});

test('a store without copyTo streams through reply.send', async () => {
  const { app, url } = await serve(fakeStore(undefined, Buffer.from('streamed')), 8);
  try {
    const res = await get(url);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'streamed');
  } finally {
    await app.close();
  }
});
