import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { ContainerLog, type LogSnapshot } from './container-log.ts';
import { encodeEntry, readLog, type LogEncoding } from './log-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'wharf-log-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function snapshotOf(log: ContainerLog): LogSnapshot {
  const { snapshot, stop } = log.follow(() => undefined);
  stop();
  return snapshot;
}

const read = async (snapshot: LogSnapshot, encoding: LogEncoding) => Buffer.concat(await readLog(snapshot, {}, encoding).toArray());

test('encodes as docker logs sends: frames without a TTY, raw with one, the wanted streams, times trimmed as Go', async () => {
  const path = join(dir, 'enc.log');
  appendFileSync(
    path,
    [
      JSON.stringify({ log: 'out é <&>\n', stream: 'stdout', time: '2024-01-01T00:00:00.120000000Z' }),
      JSON.stringify({ log: 'err\n', stream: 'stderr', time: '2024-01-01T00:00:01.000000000Z' }),
      '',
    ].join('\n'),
  );
  const log = new ContainerLog(path);
  const framed = await read(snapshotOf(log), { stdout: true, stderr: true, tty: false, timestamps: false });
  const out = Buffer.from('out é <&>\n');
  assert.deepEqual(framed, Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, out.length]), out, Buffer.from([2, 0, 0, 0, 0, 0, 0, 4]), Buffer.from('err\n')]));
  const raw = await read(snapshotOf(log), { stdout: false, stderr: true, tty: true, timestamps: true });
  assert.equal(raw.toString(), '2024-01-01T00:00:01Z err\n');
  const live = encodeEntry({ stream: 'stdout', time: '2024-01-01T00:00:00.120000000Z', data: out }, { stdout: true, stderr: true, tty: true, timestamps: true });
  assert.equal(live?.toString(), '2024-01-01T00:00:00.12Z out é <&>\n');
  log.close();
});

test('a damaged line is skipped, its neighbours kept, and a last line without newline read', async () => {
  const path = join(dir, 'bad.log');
  const line = (text: string) => JSON.stringify({ log: text, stream: 'stdout', time: '2024-01-01T00:00:00Z' });
  appendFileSync(path, `${line('a\n')}\n{"log":"tru\n${line('b\n')}\n${line('c')}`);
  const log = new ContainerLog(path);
  assert.equal((await read(snapshotOf(log), { stdout: true, stderr: true, tty: true, timestamps: false })).toString(), 'a\nb\nc');
  log.close();
});

test('reads a chunk at a time as the consumer asks: a reader nobody drains holds a few chunks, not the log', async () => {
  const log = new ContainerLog(join(dir, 'big.log'));
  const line = Buffer.from(`${'q'.repeat(99)}\n`);
  for (let i = 0; i < 50_000; i++) log.write('stdout', line);
  const reader = readLog(snapshotOf(log), {}, { stdout: true, stderr: true, tty: true, timestamps: false });
  reader.on('readable', () => undefined).pause();
  await sleep(200);
  assert.ok(reader.readableLength <= 2 * 64 * 1024, `buffered ${reader.readableLength} bytes`);
  let total = 0;
  for await (const chunk of reader) total += (chunk as Buffer).length;
  assert.equal(total, 50_000 * 100);
  log.close();
});
