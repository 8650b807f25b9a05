import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { killGroupOnAbort } from './kill-group-on-abort.ts';

/** Whether the process has ended: gone, or a zombie its new parent has not reaped yet. */
function ended(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return true;
  }
}

test('an abort kills the child and what it started (its process group); the output pipe closes', async () => {
  // The shell prints its background child's pid, then waits: the sleep holds stdout open until it dies too.
  const child = spawn('sh', ['-c', 'sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const abort = new AbortController();
  killGroupOnAbort(child, abort.signal);
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const sleeper = Number(line.toString().trim());
  assert.equal(ended(sleeper), false);
  const closed = once(child, 'close');
  abort.abort();
  assert.deepEqual(await closed, [null, 'SIGKILL']);
  assert.ok(ended(sleeper), 'the grandchild is gone too');
});

test('the abort listener goes when the child closes', async () => {
  const child = spawn('true', [], { stdio: 'ignore', detached: true });
  const abort = new AbortController();
  killGroupOnAbort(child, abort.signal);
  assert.equal(getEventListeners(abort.signal, 'abort').length, 1);
  await once(child, 'close');
  assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
});
