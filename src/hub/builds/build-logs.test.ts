import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { BuildLogs } from './build-logs.ts';

const id = '0123456789abcdef';

test('a log stops at its cap (once calling onLimit); a forced line still lands; reads stream the asked range', async () => {
  const root = mkdtempSync(join(tmpdir(), 'wharf-build-logs-'));
  try {
    const logs = new BuildLogs(root);
    let limits = 0;
    const log = await logs.append(id, 10, () => limits++);
    log.write('hello ');
    log.write('world and more');
    log.write('dropped');
    log.force('ERROR: log limit reached\n');
    await new Promise<void>((resolve) => log.end(resolve));
    assert.equal(limits, 1);
    assert.equal(readFileSync(logs.path(id), 'utf8'), 'hello worlERROR: log limit reached\n');

    const { stream, next } = await logs.read(id, 6);
    assert.equal(next, 35);
    assert.equal(await text(stream!), 'worlERROR: log limit reached\n');
    assert.deepEqual(await logs.read(id, 35), { stream: undefined, next: 35 });
    assert.deepEqual(await logs.read('fedcba9876543210', 0), { stream: undefined, next: 0 });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
