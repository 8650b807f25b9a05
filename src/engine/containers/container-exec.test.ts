import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger } from '../../base/log.ts';
import { EventLog } from '../events.ts';
import { ContainerExecs } from './container-exec.ts';
import type { ContainerManager } from './container-manager.ts';
import type { ContainerRecord } from './container-record.ts';
import type { ContainerProcess, ExitInfo, Runtime } from './runtime.ts';

/** A `cat`: runs until its stdin ends, then exits 0 (what a real one does, without runc). */
function fakeCat(): { process: ContainerProcess; stdinEnded: Promise<void> } {
  const stdout = new PassThrough();
  let ended!: () => void;
  const stdinEnded = new Promise<void>((resolve) => (ended = resolve));
  let exit!: (info: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => (exit = resolve));
  const stdin = new Writable({
    write: (chunk, _encoding, callback) => {
      stdout.write(chunk);
      callback();
    },
    final: (callback) => {
      ended();
      stdout.end();
      exit({ exitCode: 0 } as ExitInfo);
      callback();
    },
  });
  const process: ContainerProcess = { pid: 4242, stdin, stdout, exited, resize: () => undefined, kill: async () => undefined };
  return { process, stdinEnded };
}

function execsWith(process: ContainerProcess): ContainerExecs {
  const record = { id: 'c1', name: '/c1', config: { Image: 'busybox', User: '' } } as unknown as ContainerRecord;
  const containers = {
    store: { get: () => record },
    execTarget: () => record,
    execContext: () => ({ record, bundleDir: '/nonexistent', env: [], cwd: '/' }),
    probeExecIds: () => [],
  } as unknown as ContainerManager;
  const runtime = { exec: async () => process } as unknown as Runtime;
  return new ContainerExecs({ containers, runtime, events: new EventLog(), logger: createLogger({ level: 'silent' }) });
}

test('a non-TTY exec -i whose client connection drops without an EOF gets its stdin closed', async () => {
  const { process, stdinEnded } = fakeCat();
  const execs = execsWith(process);
  const { Id } = execs.create('c1', { Cmd: ['cat'], AttachStdin: true, AttachStdout: true });
  // The hijacked socket: input and output are one duplex; a reset destroys it with no 'end'.
  const socket = new PassThrough();
  const started = execs.start(Id, { input: socket, output: socket, tty: false });
  await new Promise((resolve) => setImmediate(resolve));
  socket.on('error', () => undefined);
  socket.destroy(new Error('read ECONNRESET'));
  const outcome = await Promise.race([stdinEnded.then(() => 'stdin closed'), delay(2000, 'still open', { ref: false })]);
  assert.equal(outcome, 'stdin closed');
  await started;
  assert.equal(execs.get(Id).exitCode, 0);
});
