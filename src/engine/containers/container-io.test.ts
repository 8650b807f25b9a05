import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { ContainerIo, frame } from './container-io.ts';
import { ContainerLog } from './container-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'wharf-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function collect(stream: PassThrough): () => Buffer {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

test('stdcopy frames carry the stream id and a big-endian length', () => {
  assert.deepEqual(frame(2, Buffer.from('hi')), Buffer.from([2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]));
});

test('attached clients get framed output from the first byte; stdin sent before start reaches the process', async () => {
  const io = new ContainerIo({ log: new ContainerLog(join(dir, 'a.log')), tty: () => false });
  const client = new PassThrough();
  const clientInput = new PassThrough();
  const received = collect(client);
  io.attach(client, clientInput, { stdin: true, stdout: true, stderr: true, stdinOnce: true });
  clientInput.write('early input');
  clientInput.end();
  // The client's half-close lands before start, as when the CLI pipes a short input.
  await new Promise((r) => setImmediate(r));
  const processStdin = new PassThrough();
  const stdinSeen = collect(processStdin);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const done = io.connect({ stdin: processStdin, stdout, stderr });
  stdout.end('out');
  stderr.end('err');
  await done;
  io.endRun();
  await new Promise((r) => setImmediate(r));
  assert.equal(stdinSeen().toString(), 'early input');
  assert.ok(processStdin.writableEnded, 'StdinOnce: the client half-close closes the container stdin');
  assert.deepEqual(received(), Buffer.concat([frame(1, Buffer.from('out')), frame(2, Buffer.from('err'))]));
  assert.ok(client.writableEnded, 'the attachment is ended when the run ends');
});

test('with a TTY the output is raw', async () => {
  const io = new ContainerIo({ log: new ContainerLog(join(dir, 'b.log')), tty: () => true });
  const client = new PassThrough();
  const received = collect(client);
  io.attach(client, undefined, { stdin: false, stdout: true, stderr: true, stdinOnce: false });
  const stdout = new PassThrough();
  const done = io.connect({ stdout });
  stdout.end('raw\r\n');
  await done;
  assert.equal(received().toString(), 'raw\r\n');
});

test('with a TTY the detach keys end the client attachment, not the container stdin; one-byte reads only, as moby', async () => {
  const io = new ContainerIo({ log: new ContainerLog(join(dir, 'c.log')), tty: () => true });
  const client = new PassThrough();
  const input = new PassThrough();
  let detached = 0;
  io.attach(client, input, { stdin: true, stdout: true, stderr: true, stdinOnce: false, onDetach: () => detached++ });
  const stdin = collect(io.stdin());
  for (const chunk of [Buffer.from('ls\n'), Buffer.from([16]), Buffer.from('x'), Buffer.from([16]), Buffer.from([17])]) {
    input.write(chunk);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(detached, 1);
  assert.ok(client.writableEnded);
  assert.equal(io.attachmentCount, 0);
  assert.equal(stdin().toString(), 'ls\n\x10x');
});
