import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerExecs } from '../containers/container-exec.ts';
import { execRoutes } from './exec-routes.ts';
import type { ApiContext } from './router.ts';

test('a hijacked exec start whose connection drops inside the start body gives up rather than waiting forever', async () => {
  const execs = { get: () => ({ id: 'e1' }), start: async () => assert.fail('started without its body') } as unknown as ContainerExecs;
  const start = execRoutes({ execs, serverHeader: 'wharf' }).find((r) => r.name === 'exec-start');
  const ctx = { req: { headers: { 'content-length': '30' } } as unknown as IncomingMessage, version: '1.44', params: { id: 'e1' } } as unknown as ApiContext;
  const socket = new PassThrough();
  socket.on('error', () => undefined);
  const outcome = start?.hijack?.(ctx, socket, Buffer.from('{"Detach":fal')).then(
    () => 'resolved',
    (err: Error) => err.message,
  );
  await new Promise((resolve) => setImmediate(resolve));
  // A reset: 'close' without 'end'.
  socket.destroy(new Error('read ECONNRESET'));
  assert.equal(await Promise.race([outcome, delay(2000, 'still waiting', { ref: false })]), 'exec start body ended early');
});
