import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialState, type HealthcheckResult } from './container-record.ts';
import { goDuration, mergeHealthcheck, probeArgs } from './health-config.ts';
import { setHealthStarting, setProbeResult } from './container-state.ts';

const started = '2026-01-02T03:04:05.000Z';
const result = (exitCode: number, afterMs: number): HealthcheckResult => {
  const at = new Date(Date.parse(started) + afterMs).toISOString();
  return { Start: at, End: at, ExitCode: exitCode, Output: '' };
};

test('the user healthcheck overrides the image one field by field, and an empty Test inherits it', () => {
  const image = { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 };
  assert.deepEqual(mergeHealthcheck(undefined, image), image);
  assert.deepEqual(mergeHealthcheck({ Test: [], Timeout: 2e9 }, image), { Test: ['CMD-SHELL', 'true'], Timeout: 2e9, Interval: 5e9, Retries: 2 });
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image), { Test: ['NONE'], Interval: 5e9, Retries: 2 });
  assert.equal(mergeHealthcheck(undefined, undefined), undefined);
});

test('durations under 1ms and negative retries are refused with moby texts', () => {
  assert.throws(() => mergeHealthcheck({ Interval: 10 }, undefined), /Interval in Healthcheck cannot be less than 1ms/);
  assert.throws(() => mergeHealthcheck({ StartInterval: 999_999 }, undefined), /StartInterval in Healthcheck cannot be less than 1ms/);
  assert.throws(() => mergeHealthcheck({ Retries: -1 }, undefined), /Retries in Healthcheck cannot be negative/);
});

test('CMD runs its argv, CMD-SHELL goes through Config.Shell (/bin/sh -c by default), NONE and unknown kinds run nothing', () => {
  assert.deepEqual(probeArgs({ Healthcheck: { Test: ['CMD', 'cat', '/x'] } }), ['cat', '/x']);
  assert.deepEqual(probeArgs({ Healthcheck: { Test: ['CMD-SHELL', 'exit 1'] } }), ['/bin/sh', '-c', 'exit 1']);
  // moby appends each word after the shell: the second is the shell's $0, not part of the command.
  assert.deepEqual(probeArgs({ Healthcheck: { Test: ['CMD-SHELL', 'echo a', 'b'] }, Shell: ['/bin/ash', '-xc'] }), ['/bin/ash', '-xc', 'echo a', 'b']);
  assert.deepEqual(probeArgs({ Healthcheck: { Test: ['CMD-SHELL', 'true'] }, Shell: [] }), ['/bin/sh', '-c', 'true']);
  assert.equal(probeArgs({ Healthcheck: { Test: ['NONE'] } }), undefined);
  assert.equal(probeArgs({ Healthcheck: { Test: ['BOGUS', 'x'] } }), undefined);
  assert.equal(probeArgs({}), undefined);
});

test('timeouts print as Go durations', () => {
  assert.deepEqual([1000, 1500, 100, 30_000, 90_000, 3_600_000].map(goDuration), ['1s', '1.5s', '100ms', '30s', '1m30s', '1h0m0s']);
});

test('a success is healthy; failures count towards retries and then make it unhealthy', () => {
  const state = { ...initialState(), StartedAt: started };
  setHealthStarting(state);
  assert.equal(setProbeResult(state, result(1, 10), { retries: 2, startPeriodMs: 0 }), undefined);
  assert.equal(state.Health?.FailingStreak, 1);
  assert.equal(setProbeResult(state, result(0, 20), { retries: 2, startPeriodMs: 0 }), 'healthy');
  assert.equal(state.Health?.FailingStreak, 0);
  setProbeResult(state, result(2, 30), { retries: 2, startPeriodMs: 0 });
  assert.equal(setProbeResult(state, result(-1, 40), { retries: 2, startPeriodMs: 0 }), 'unhealthy');
  assert.deepEqual(state.Health?.Log?.map((r) => r.ExitCode), [1, 0, 2, -1]);
});

test('failures within the start period do not count while starting; the log keeps the last five', () => {
  const state = { ...initialState(), StartedAt: started };
  setHealthStarting(state);
  for (let i = 0; i < 7; i++) setProbeResult(state, result(1, i * 100), { retries: 1, startPeriodMs: 1000 });
  assert.equal(state.Health?.Status, 'starting');
  assert.equal(state.Health?.FailingStreak, 0);
  assert.equal(setProbeResult(state, result(1, 1000), { retries: 1, startPeriodMs: 1000 }), 'unhealthy');
  assert.equal(state.Health?.Log?.length, 5);
  setHealthStarting(state);
  assert.deepEqual({ status: state.Health?.Status, streak: state.Health?.FailingStreak, log: state.Health?.Log?.length }, { status: 'starting', streak: 0, log: 5 });
});
