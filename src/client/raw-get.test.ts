import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { isFault } from '../base/fault.ts';
import { type BorrowedBody, rawGet } from './raw-get.ts';

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((done) => s.close(done)))));

/** A TCP server answering each connection with `answer`, handed the request head it read. */
async function serve(answer: (socket: Socket, head: string) => void): Promise<URL> {
  const server = createServer((socket) => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) answer(socket, head);
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/a/blobs/x?q=1`);
}

const options = { headers: { authorization: 'Bearer t' }, stallMs: 2000, bodyFault: (why: string) => new Error(`body: ${why}`) };

/** Each chunk copied as it arrives: the body reuses its buffer for the next. */
async function copied(body: BorrowedBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

test('a 200 with a length: the request carries the path, query and headers, the body its bytes read in turns', async () => {
  const body = Buffer.alloc(3 * 1024 * 1024 + 5);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 251;
  let request = '';
  const url = await serve((socket, head) => {
    request = head;
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-A: 1\r\nx-a: 2\r\n\r\n`);
    // The first bytes come with the head, the rest in pieces larger than the reader's buffer.
    socket.write(body.subarray(0, 10));
    socket.end(body.subarray(10));
  });
  const res = await rawGet(url, { ...options, bufferBytes: 64 * 1024 });
  assert.equal(res.statusCode, 200);
  assert.equal(res.length, body.length);
  assert.equal(res.headers['x-a'], '1, 2');
  assert.ok((await copied(res.body)).equals(body));
  assert.equal(res.body.readableEnded, true);
  assert.match(request, /^GET \/v2\/a\/blobs\/x\?q=1 HTTP\/1\.1\r\n/);
  assert.match(request, /\r\nauthorization: Bearer t\r\n/);
  assert.match(request, /\r\nconnection: close\r\n/);
});

test('a head that arrives in several reads is read on to its end, however many', async () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDocker-Content-Digest: sha256:x\r\n\r\n';
  for (const pieces of [2, 3, 5]) {
    const url = await serve(async (socket) => {
      const size = Math.ceil(head.length / pieces);
      // Apart in time, so that each piece is a read of its own.
      for (let at = 0; at < head.length; at += size) {
        socket.write(head.slice(at, at + size));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      socket.end('hello');
    });
    const res = await rawGet(url, options);
    assert.equal(res.statusCode, 200, `${pieces} pieces`);
    assert.equal((await copied(res.body)).toString(), 'hello', `${pieces} pieces`);
  }
});

test('an answer without a length (chunked) or another status comes back for the caller to send elsewhere', async () => {
  const url = await serve((socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\nWww-Authenticate: Bearer realm="x"\r\n\r\n0\r\n\r\n'));
  const res = await rawGet(url, options);
  assert.equal(res.statusCode, 401);
  assert.equal(res.length, undefined);
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="x"');
  res.body.destroy();
});

test('a connection closed mid-body, or silent for stallMs, fails the body with the caller\'s wording', async () => {
  const cut = await serve((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'));
  const res = await rawGet(cut, options);
  await assert.rejects(copied(res.body), /^Error: body: the connection closed after 10 bytes$/);
  const silent = await serve((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc'));
  const stalled = await rawGet(silent, { ...options, stallMs: 100 });
  await assert.rejects(copied(stalled.body), /^Error: body: it sent nothing for 0.1 s after 3 bytes$/);
});

test('an abort before or during the body ends it with the abort\'s reason', async () => {
  const silent = await serve((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'));
  const controller = new AbortController();
  const res = await rawGet(silent, { ...options, signal: controller.signal });
  const reading = copied(res.body);
  controller.abort(new Error('gone'));
  await assert.rejects(reading, /^Error: gone$/);
  const never = await serve(() => {});
  const early = new AbortController();
  const pending = rawGet(never, { ...options, signal: early.signal });
  early.abort(new Error('early'));
  await assert.rejects(pending, /^Error: early$/);
});

test('refused connections, non-HTTP answers and header values with line breaks are refused', async () => {
  const closed = await serve((socket) => socket.destroy());
  await assert.rejects(rawGet(closed, options), (err) => isFault(err, 'unavailable') && /^Get "http:\/\/127\.0\.0\.1:\d+\/v2\/a\/blobs\/x\?q=1": (EOF|read ECONNRESET)$/.test(err.message));
  const garbage = await serve((socket) => socket.end('SSH-2.0-OpenSSH\r\n\r\n'));
  await assert.rejects(rawGet(garbage, options), (err) => isFault(err, 'unavailable') && /did not answer with HTTP\/1\.x/.test(err.message));
  const ok = await serve((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  await assert.rejects(rawGet(ok, { ...options, headers: { authorization: 'x\r\nInjected: 1' } }), (err) => isFault(err, 'invalid-argument'));
  assert.throws(() => rawGet(new URL('https://127.0.0.1/'), options), (err) => isFault(err, 'internal'));
});
