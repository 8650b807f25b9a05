import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRestartDelay, restartsWithDaemon, shouldRestart } from './container-restart.ts';

const exit = (exitCode: number, restartCount = 0, manuallyStopped = false) => ({ exitCode, restartCount, manuallyStopped });

test('on-failure restarts non-zero exits up to the retry count', () => {
  const policy = { Name: 'on-failure', MaximumRetryCount: 2 } as const;
  assert.equal(shouldRestart(policy, exit(1, 0)), true);
  assert.equal(shouldRestart(policy, exit(1, 2)), false);
  assert.equal(shouldRestart(policy, exit(0, 0)), false);
});

test('always and unless-stopped restart unless stopped by hand; no never does', () => {
  assert.equal(shouldRestart({ Name: 'always', MaximumRetryCount: 0 }, exit(0)), true);
  assert.equal(shouldRestart({ Name: 'unless-stopped', MaximumRetryCount: 0 }, exit(0, 0, true)), false);
  assert.equal(shouldRestart({ Name: 'no', MaximumRetryCount: 0 }, exit(1)), false);
});

test('at engine start always comes back even after a manual stop, unless-stopped does not', () => {
  assert.equal(restartsWithDaemon({ Name: 'always', MaximumRetryCount: 0 }, true, 0), true);
  assert.equal(restartsWithDaemon({ Name: 'unless-stopped', MaximumRetryCount: 0 }, true, 0), false);
  assert.equal(restartsWithDaemon({ Name: 'unless-stopped', MaximumRetryCount: 0 }, false, 137), true);
});

test('back-off doubles from 100 ms and resets after a long run', () => {
  assert.equal(nextRestartDelay(0, 0), 100);
  assert.equal(nextRestartDelay(100, 50), 200);
  assert.equal(nextRestartDelay(40_000, 50), 60_000);
  assert.equal(nextRestartDelay(800, 20_000), 100);
});
