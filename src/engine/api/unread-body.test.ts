import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { sendWholeBody } from '../../../test/support/whole-body-client.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Fault } from '../../base/fault.ts';
import { createLogger } from '../../base/log.ts';
import { createApiServer, type ApiServer } from './api-server.ts';
import { Router } from './router.ts';

const dir = mkdtempSync(join(tmpdir(), 'wharf-unread-'));
const socketPath = join(dir, 'engine.sock');
let api: ApiServer;

before(async () => {
  const router = new Router([
    { name: 'refuse-raw', method: 'POST', path: '/raw', body: 'raw', handle: async () => Promise.reject(new Fault('invalid-argument', 'refused')) },
    { name: 'json', method: 'POST', path: '/json', body: 'json', handle: async () => ({ status: 204 }) },
  ]);
  api = createApiServer({ router, logger: createLogger({ level: 'silent' }), serverHeader: 'wharf-test' });
  await api.listen(socketPath);
});

after(async () => {
  await api.close(socketPath);
  rmSync(dir, { recursive: true, force: true });
});

function postWholeBody(path: string, size: number): Promise<{ statusLine: string }> {
  return sendWholeBody(() => connect(socketPath), `POST ${path} HTTP/1.1`, size);
}

test('a refusal before a large raw body is read reaches a client that writes the whole body first', async () => {
  const { statusLine } = await postWholeBody('/raw', 200 * 1024 * 1024);
  assert.equal(statusLine, 'HTTP/1.1 400 Bad Request');
});

test('an unknown route with a large body is answered, not left waiting', async () => {
  const { statusLine } = await postWholeBody('/nope', 200 * 1024 * 1024);
  assert.equal(statusLine, 'HTTP/1.1 404 Not Found');
});

test('a JSON body over the limit gets its 413 while the client is still sending', async () => {
  const { statusLine } = await postWholeBody('/json', 40 * 1024 * 1024);
  assert.equal(statusLine, 'HTTP/1.1 413 Payload Too Large');
});

test('a small body still arriving when the refusal is ready is read first, and the connection stays open', async () => {
  const socket = connect(socketPath);
  let answer = '';
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
  const piece = Buffer.alloc(32 * 1024, 0x61);
  socket.write(`POST /raw HTTP/1.1\r\nHost: engine\r\nContent-Length: ${piece.length * 2}\r\n\r\n`);
  socket.write(piece);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(answer, '', 'no answer before the body is in (Go answers after reading up to 256 KiB of it)');
  socket.write(piece);
  await new Promise<void>((resolve) => {
    const check = () => (answer.includes('\r\n\r\n') && answer.includes('refused') ? resolve() : setTimeout(check, 20));
    check();
  });
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.doesNotMatch(answer, /connection: close/i);
  assert.equal(socket.destroyed, false);
  socket.destroy();
});
