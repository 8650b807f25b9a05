import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialState } from '../containers/container-record.ts';
import { humanDuration, statusText } from './container-json.ts';

test('durations read like go-units HumanDuration', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(2500), '2 seconds');
  assert.equal(humanDuration(61_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(3_600_000), 'About an hour');
  assert.equal(humanDuration(3 * 24 * 3_600_000), '3 days');
});

test('status strings are moby’s', () => {
  const now = Date.parse('2025-01-01T00:00:10Z');
  const state = initialState();
  assert.equal(statusText(state, now), 'Created');
  Object.assign(state, { Status: 'running', Running: true, StartedAt: '2025-01-01T00:00:08Z' });
  assert.equal(statusText(state, now), 'Up 2 seconds');
  Object.assign(state, { Paused: true });
  assert.equal(statusText(state, now), 'Up 2 seconds (Paused)');
  Object.assign(state, { Status: 'exited', Running: false, Paused: false, ExitCode: 3, FinishedAt: '2025-01-01T00:00:09Z' });
  assert.equal(statusText(state, now), 'Exited (3) 1 second ago');
});

test('a running container with a healthcheck shows its health as moby’s ps does', () => {
  const now = Date.parse('2025-01-01T00:00:10Z');
  const state = { ...initialState(), Status: 'running' as const, Running: true, StartedAt: '2025-01-01T00:00:07Z' };
  const health = (Status: 'starting' | 'healthy' | 'unhealthy') => ({ ...state, Health: { Status, FailingStreak: 0, Log: null } });
  assert.equal(statusText(health('starting'), now), 'Up 3 seconds (health: starting)');
  assert.equal(statusText(health('healthy'), now), 'Up 3 seconds (healthy)');
  assert.equal(statusText(health('unhealthy'), now), 'Up 3 seconds (unhealthy)');
  assert.equal(statusText({ ...health('healthy'), Paused: true }, now), 'Up 3 seconds (Paused)');
  assert.equal(statusText({ ...health('unhealthy'), Status: 'exited', Running: false, FinishedAt: '2025-01-01T00:00:09Z' }, now), 'Exited (0) 1 second ago');
});
