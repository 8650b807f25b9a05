import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialState, type ContainerState, type ContainerStatus } from './container-record.ts';
import {
  legalFrom,
  setCrashed,
  setPaused,
  setRemoved,
  setRemoving,
  setRestartCancelled,
  setRestarting,
  setRunning,
  setStartFailed,
  setStopped,
  setUnpaused,
  type StateWaiters,
  type Transition,
} from './container-state.ts';

const at = '2026-01-02T03:04:05.000Z';
const statuses: ContainerStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const noWaiters = (): StateWaiters => ({ exit: [], removed: [] });

/** A state as the engine leaves it in each status. */
function stateIn(status: ContainerStatus): ContainerState {
  const running = status === 'running' || status === 'paused' || status === 'restarting';
  return { ...initialState(), Status: status, Running: running, Paused: status === 'paused', Restarting: status === 'restarting', Pid: running ? 42 : 0, ExitCode: 3 };
}

const apply: Record<Transition, (s: ContainerState) => void> = {
  running: (s) => setRunning(s, 7, at),
  'start-failed': (s) => setStartFailed(s, noWaiters(), 127, 'not found'),
  stopped: (s) => setStopped(s, noWaiters(), { exitCode: 1, oomKilled: false }, at),
  restarting: setRestarting,
  'restart-cancelled': setRestartCancelled,
  paused: setPaused,
  unpaused: setUnpaused,
  removing: setRemoving,
  crashed: (s) => setCrashed(s, at),
};

// Which status each transition may leave, row by row (moby container/state.go's rules as the engine uses them).
const table: Record<Transition, ContainerStatus[]> = {
  running: ['created', 'exited', 'restarting', 'removing', 'dead'],
  'start-failed': ['created', 'exited', 'restarting', 'removing', 'dead'],
  stopped: ['running', 'paused'],
  restarting: ['exited'],
  'restart-cancelled': ['restarting'],
  paused: ['running'],
  unpaused: ['paused'],
  removing: statuses,
  crashed: ['running', 'paused', 'restarting', 'removing'],
};

for (const transition of Object.keys(table) as Transition[]) {
  test(`transition ${transition}: legal exactly from ${table[transition].join(', ')}`, () => {
    assert.deepEqual([...legalFrom[transition]].sort(), [...table[transition]].sort());
    for (const from of statuses) {
      const state = stateIn(from);
      if (table[transition].includes(from)) assert.doesNotThrow(() => apply[transition](state), `${transition} from ${from}`);
      else assert.throws(() => apply[transition](state), { kind: 'conflict' }, `${transition} from ${from}`);
    }
  });
}

test('the statuses each transition leads to', () => {
  const expected: Record<Transition, [ContainerStatus, ContainerStatus]> = {
    running: ['exited', 'running'],
    'start-failed': ['restarting', 'exited'],
    stopped: ['paused', 'exited'],
    restarting: ['exited', 'restarting'],
    'restart-cancelled': ['restarting', 'exited'],
    paused: ['running', 'paused'],
    unpaused: ['paused', 'running'],
    removing: ['exited', 'removing'],
    crashed: ['running', 'exited'],
  };
  for (const [transition, [from, to]] of Object.entries(expected) as [Transition, [ContainerStatus, ContainerStatus]][]) {
    const state = stateIn(from);
    apply[transition](state);
    assert.equal(state.Status, to, transition);
  }
});

test('a failed start leaves a created container created, with the exit code and error', () => {
  const state = stateIn('created');
  setStartFailed(state, noWaiters(), 127, 'executable file not found');
  assert.deepEqual([state.Status, state.ExitCode, state.Error, state.Running], ['created', 127, 'executable file not found', false]);
});

test('a crash seen at restore keeps a restarting container\'s last exit', () => {
  const restarting = { ...stateIn('restarting'), FinishedAt: 'before' };
  setCrashed(restarting, at);
  assert.deepEqual([restarting.ExitCode, restarting.FinishedAt, restarting.Running], [3, 'before', false]);
  const running = stateIn('running');
  setCrashed(running, at);
  assert.deepEqual([running.ExitCode, running.FinishedAt, running.Pid], [255, at, 0]);
});

test('an exit wakes the exit waiters once; a removal wakes both kinds', async () => {
  const waiters = noWaiters();
  const exited = new Promise<number>((resolve) => waiters.exit.push(resolve));
  setStopped(stateIn('running'), waiters, { exitCode: 5, oomKilled: true }, at);
  assert.equal(await exited, 5);
  assert.equal(waiters.exit.length, 0);
  const removed = new Promise<number>((resolve) => waiters.removed.push(resolve));
  const nextExit = new Promise<number>((resolve) => waiters.exit.push(resolve));
  const state = stateIn('exited');
  setRemoving(state);
  setRemoved(state, waiters);
  assert.deepEqual(await Promise.all([removed, nextExit]), [3, 3]);
});

test('a failed start wakes the exit waiters with its exit code', async () => {
  const waiters = noWaiters();
  const woken = new Promise<number>((resolve) => waiters.exit.push(resolve));
  setStartFailed(stateIn('exited'), waiters, 126, 'permission denied');
  assert.equal(await woken, 126);
});
