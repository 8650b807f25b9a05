import { Fault } from '../../base/fault.ts';
import type { ContainerState, ContainerStatus, HealthcheckResult, HealthStatus } from './container-record.ts';

/** Who waits for a container's next exit and for its removal; a transition that ends either wakes them. */
export interface StateWaiters {
  exit: ((code: number) => void)[];
  removed: ((code: number) => void)[];
}

export type Transition = 'running' | 'start-failed' | 'stopped' | 'restarting' | 'restart-cancelled' | 'paused' | 'unpaused' | 'removing' | 'crashed';

const every: readonly ContainerStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

/**
 * The statuses each transition may leave (moby's container/state.go). `removing` may be re-entered: a remove
 * whose cleanup failed can be retried. `start-failed` leaves a container as it was (moby: Created stays Created).
 */
export const legalFrom: Readonly<Record<Transition, readonly ContainerStatus[]>> = {
  running: ['created', 'exited', 'restarting', 'removing', 'dead'],
  'start-failed': ['created', 'exited', 'restarting', 'removing', 'dead'],
  stopped: ['running', 'paused'],
  restarting: ['exited'],
  'restart-cancelled': ['restarting'],
  paused: ['running'],
  unpaused: ['paused'],
  removing: every,
  crashed: ['running', 'paused', 'restarting', 'removing'],
};

function enter(state: ContainerState, transition: Transition): void {
  if (!legalFrom[transition].includes(state.Status)) throw new Fault('conflict', `container state: no transition "${transition}" from ${state.Status}`);
}

export function setRunning(state: ContainerState, pid: number, at: string): void {
  enter(state, 'running');
  Object.assign(state, { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: at });
}

/** moby daemon/start.go: the exit code says why the start failed; a restarting container ends up exited. */
export function setStartFailed(state: ContainerState, waiters: StateWaiters, exitCode: number, error: string): void {
  enter(state, 'start-failed');
  Object.assign(state, { ExitCode: exitCode, Error: error, Running: false, Restarting: false });
  if (state.Status === 'restarting') state.Status = 'exited';
  wake(waiters.exit, state.ExitCode);
}

export function setStopped(state: ContainerState, waiters: StateWaiters, exit: { exitCode: number; oomKilled: boolean }, at: string): void {
  enter(state, 'stopped');
  Object.assign(state, { Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: exit.exitCode, OOMKilled: exit.oomKilled, FinishedAt: at });
  wake(waiters.exit, exit.exitCode);
}

/** Waiting for the restart policy's delay: still counted as running, as moby shows it. */
export function setRestarting(state: ContainerState): void {
  enter(state, 'restarting');
  Object.assign(state, { Status: 'restarting', Running: true, Restarting: true });
}

/** `docker stop` during a restart delay. */
export function setRestartCancelled(state: ContainerState): void {
  enter(state, 'restart-cancelled');
  Object.assign(state, { Status: 'exited', Running: false, Restarting: false });
}

export function setPaused(state: ContainerState): void {
  enter(state, 'paused');
  Object.assign(state, { Status: 'paused', Paused: true });
}

export function setUnpaused(state: ContainerState): void {
  enter(state, 'unpaused');
  Object.assign(state, { Status: state.Running ? 'running' : state.Status, Paused: false });
}

export function setRemoving(state: ContainerState): void {
  enter(state, 'removing');
  state.Status = 'removing';
}

/** The container is gone: whoever waits for its removal or its exit gets the last run's exit code. */
export function setRemoved(state: ContainerState, waiters: StateWaiters): void {
  wake(waiters.removed, state.ExitCode);
  wake(waiters.exit, state.ExitCode);
}

/** At engine start, a container the last engine left running: its process died with that engine. */
export function setCrashed(state: ContainerState, at: string): void {
  enter(state, 'crashed');
  Object.assign(state, {
    Status: 'exited',
    Running: false,
    Paused: false,
    Restarting: false,
    Pid: 0,
    ExitCode: state.Restarting ? state.ExitCode : 255,
    FinishedAt: state.Restarting ? state.FinishedAt : at,
  });
}

function wake(waiters: ((code: number) => void)[], code: number): void {
  for (const resolve of waiters.splice(0)) resolve(code);
}

/** moby initHealthMonitor: each start of a container with a healthcheck begins as starting, its log kept. */
export function setHealthStarting(state: ContainerState): void {
  state.Health = { Status: 'starting', FailingStreak: 0, Log: state.Health?.Log ?? null };
}

/** moby keeps the last five probes in State.Health.Log. */
const maxHealthLog = 5;

/**
 * moby daemon/health.go handleProbeResult: exit 0 is healthy; a failure counts towards `retries` unless the
 * container is still starting within its start period. Returns the new status when it changed.
 */
export function setProbeResult(state: ContainerState, result: HealthcheckResult, policy: { retries: number; startPeriodMs: number }): HealthStatus | undefined {
  const health = state.Health;
  if (!health) return undefined;
  const before = health.Status;
  health.Log = [...(health.Log ?? []), result].slice(-maxHealthLog);
  if (result.ExitCode === 0) {
    health.FailingStreak = 0;
    health.Status = 'healthy';
  } else if (before !== 'starting' || Date.parse(result.Start) - Date.parse(state.StartedAt) >= policy.startPeriodMs) {
    health.FailingStreak++;
    if (health.FailingStreak >= policy.retries) health.Status = 'unhealthy';
  }
  return health.Status === before ? undefined : health.Status;
}
