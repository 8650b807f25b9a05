import assert from 'node:assert/strict';
import { existsSync, fstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ContainerLog, nowNano, type LogSnapshot } from './container-log.ts';
import { readLog, type ReadOptions } from './log-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'wharf-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const both = { stdout: true, stderr: true, tty: false, timestamps: false };

/** The entries of a read, from its stdcopy frames. */
async function all(snapshot: LogSnapshot, options: ReadOptions = {}): Promise<{ stream: string; data: Buffer }[]> {
  const bytes = Buffer.concat(await readLog(snapshot, options, both).toArray());
  const out = [];
  for (let at = 0; at < bytes.length; at += 8 + bytes.readUInt32BE(at + 4)) {
    out.push({ stream: bytes[at] === 1 ? 'stdout' : 'stderr', data: bytes.subarray(at + 8, at + 8 + bytes.readUInt32BE(at + 4)) });
  }
  return out;
}

async function entries(log: ContainerLog, options: ReadOptions = {}): Promise<string[]> {
  const { snapshot, stop } = log.follow(() => undefined);
  stop();
  return (await all(snapshot, options)).map((e) => e.data.toString());
}

test('output is logged one entry per line, partial lines wait for the rest or for flush', async () => {
  const log = new ContainerLog(join(dir, 'a.log'));
  log.write('stdout', Buffer.from('one\ntw'));
  log.write('stderr', Buffer.from('err\n'));
  log.write('stdout', Buffer.from('o\nthree'));
  log.flush();
  const { snapshot, stop } = log.follow(() => undefined);
  stop();
  assert.deepEqual((await all(snapshot)).map((e) => `${e.stream}:${e.data}`), ['stdout:one\n', 'stderr:err\n', 'stdout:two\n', 'stdout:three']);
  assert.deepEqual(await entries(log, { tail: 2 }), ['two\n', 'three']);
  log.close();
});

test('a follower sees entries after its snapshot exactly once', async () => {
  const log = new ContainerLog(join(dir, 'b.log'));
  log.write('stdout', Buffer.from('before\n'));
  const live: string[] = [];
  const { snapshot, stop } = log.follow((e) => live.push(e.data.toString()));
  log.write('stdout', Buffer.from('after\n'));
  stop();
  assert.deepEqual((await all(snapshot)).map((e) => e.data.toString()), ['before\n']);
  assert.deepEqual(live, ['after\n']);
  log.close();
});

test('since and until filter by entry time', async () => {
  const log = new ContainerLog(join(dir, 'c.log'));
  log.write('stdout', Buffer.from('x\n'));
  const now = Date.now();
  assert.equal((await entries(log, { sinceMs: now + 60_000 })).length, 0);
  assert.equal((await entries(log, { untilMs: now - 60_000 })).length, 0);
  assert.equal((await entries(log, { sinceMs: now - 60_000 })).length, 1);
  log.close();
});

test('json-file rotation: moby names (.1 newest), at most max-file files, reads in order across them', async () => {
  const path = join(dir, 'r', 'id-json.log');
  const log = new ContainerLog(path, { driver: 'json-file', maxSize: 200, maxFile: 3 });
  const lines = Array.from({ length: 40 }, (_, i) => `line-${i}\n`);
  for (const line of lines) log.write('stdout', Buffer.from(line));
  assert.deepEqual(readdirSync(join(dir, 'r')).sort(), ['id-json.log', 'id-json.log.1', 'id-json.log.2']);
  // moby checks the size before a write: a file holds entries until it has reached max-size, then one more starts a new file.
  for (const name of ['id-json.log.1', 'id-json.log.2']) assert.ok(readFileSync(join(dir, 'r', name)).length >= 200);
  const kept = await entries(log);
  assert.deepEqual(kept, lines.slice(lines.length - kept.length), 'the newest entries, oldest first, none doubled');
  assert.ok(kept.length > 6 && kept.length < 40);
  assert.deepEqual(await entries(log, { tail: 5 }), lines.slice(-5));
  log.close();
});

test('a snapshot taken before a rotation still reads what it saw', async () => {
  const path = join(dir, 's-json.log');
  const log = new ContainerLog(path, { driver: 'json-file', maxSize: 100, maxFile: 2 });
  for (let i = 0; i < 3; i++) log.write('stdout', Buffer.from(`old-${i}\n`));
  const { snapshot, stop } = log.follow(() => undefined);
  stop();
  for (let i = 0; i < 20; i++) log.write('stdout', Buffer.from(`new-${i}\n`));
  assert.deepEqual((await all(snapshot)).map((e) => e.data.toString()), ['old-0\n', 'old-1\n', 'old-2\n']);
  log.close();
});

test('max-file 1 starts the file over', async () => {
  const path = join(dir, 'one-json.log');
  const log = new ContainerLog(path, { driver: 'json-file', maxSize: 100, maxFile: 1 });
  for (let i = 0; i < 20; i++) log.write('stdout', Buffer.from(`n-${i}\n`));
  assert.ok(!existsSync(`${path}.1`));
  assert.ok(readFileSync(path).length < 200);
  assert.equal((await entries(log)).at(-1), 'n-19\n');
  log.close();
});

test('the none driver keeps nothing and cannot be read; followers still see output', async () => {
  const path = join(dir, 'none-json.log');
  const log = new ContainerLog(path, { driver: 'none', maxSize: -1, maxFile: 1 });
  const live: string[] = [];
  const { stop } = log.follow((e) => live.push(e.data.toString()));
  log.write('stdout', Buffer.from('x\n'));
  stop();
  assert.equal(log.readable, false);
  assert.ok(!existsSync(path));
  assert.deepEqual(live, ['x\n']);
  log.close();
});

test('tail reads backwards across chunk and file boundaries and gives the last lines oldest first', async () => {
  const path = join(dir, 't', 'id-json.log');
  const log = new ContainerLog(path, { driver: 'json-file', maxSize: 300 * 1024, maxFile: 3 });
  // Long lines so the 64 KiB chunks split entries and the tail crosses from one file into the one before.
  const lines = Array.from({ length: 3000 }, (_, i) => `${i}-${'y'.repeat(200)}\n`);
  for (const line of lines) log.write('stdout', Buffer.from(line));
  assert.equal(readdirSync(join(dir, 't')).length, 3);
  const kept = await entries(log);
  for (const n of [1, 2, 300, 1000, 1400, kept.length, kept.length + 5]) {
    assert.deepEqual(await entries(log, { tail: n }), kept.slice(-n), `tail ${n}`);
  }
  assert.deepEqual(await entries(log, { tail: 0 }), []);
  log.close();
});

test('a read destroyed before its first entry still closes the snapshot files', async () => {
  const log = new ContainerLog(join(dir, 'd.log'));
  log.write('stdout', Buffer.from('x\n'));
  const { snapshot, stop } = log.follow(() => undefined);
  stop();
  const reader = readLog(snapshot, {}, both);
  reader.destroy();
  await new Promise((resolve) => reader.once('close', resolve));
  for (const file of snapshot.files) assert.throws(() => fstatSync(file.fd), { code: 'EBADF' });
  log.close();
});

test('timestamps are RFC3339 with nanoseconds', () => {
  assert.match(nowNano(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});
