import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ContainerLog, nowNano, readLog } from './container-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'wharf-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('output is logged one entry per line, partial lines wait for the rest or for flush', async () => {
  const log = new ContainerLog(join(dir, 'a.log'));
  log.write('stdout', Buffer.from('one\ntw'));
  log.write('stderr', Buffer.from('err\n'));
  log.write('stdout', Buffer.from('o\nthree'));
  log.flush();
  const { offset, stop } = log.follow(() => undefined);
  stop();
  const entries = await readLog(log.path, { end: offset });
  assert.deepEqual(entries.map((e) => `${e.stream}:${e.data}`), ['stdout:one\n', 'stderr:err\n', 'stdout:two\n', 'stdout:three']);
  assert.deepEqual((await readLog(log.path, { end: offset, tail: 2 })).map((e) => e.data.toString()), ['two\n', 'three']);
  log.close();
});

test('a follower sees entries after its offset exactly once', async () => {
  const log = new ContainerLog(join(dir, 'b.log'));
  log.write('stdout', Buffer.from('before\n'));
  const live: string[] = [];
  const { offset, stop } = log.follow((e) => live.push(e.data.toString()));
  log.write('stdout', Buffer.from('after\n'));
  stop();
  assert.deepEqual((await readLog(log.path, { end: offset })).map((e) => e.data.toString()), ['before\n']);
  assert.deepEqual(live, ['after\n']);
  log.close();
});

test('since and until filter by entry time', async () => {
  const log = new ContainerLog(join(dir, 'c.log'));
  log.write('stdout', Buffer.from('x\n'));
  const { offset, stop } = log.follow(() => undefined);
  stop();
  const now = Date.now();
  assert.equal((await readLog(log.path, { end: offset, sinceMs: now + 60_000 })).length, 0);
  assert.equal((await readLog(log.path, { end: offset, untilMs: now - 60_000 })).length, 0);
  assert.equal((await readLog(log.path, { end: offset, sinceMs: now - 60_000 })).length, 1);
  log.close();
});

test('timestamps are RFC3339 with nanoseconds', () => {
  assert.match(nowNano(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});
