import type { RestartPolicy } from './container-record.ts';

/** moby restartmanager: back-off starts at 100 ms, doubles per restart, caps at a minute. */
const initialDelayMs = 100;
const maxDelayMs = 60_000;
/** A run this long resets the back-off (moby: 10 s). */
const resetAfterMs = 10_000;

/** Whether a container that just exited restarts, after moby's RestartManager.ShouldRestart. */
export function shouldRestart(
  policy: RestartPolicy,
  exit: { exitCode: number; manuallyStopped: boolean; restartCount: number },
): boolean {
  if (exit.manuallyStopped) return false;
  switch (policy.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exit.exitCode !== 0 && (policy.MaximumRetryCount === 0 || exit.restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/** Whether the engine starts this container when it comes up (moby's restore): `always` even after a manual stop. */
export function restartsWithDaemon(policy: RestartPolicy, manuallyStopped: boolean, exitCode: number): boolean {
  if (policy.Name === 'always') return true;
  if (policy.Name === 'unless-stopped') return !manuallyStopped;
  if (policy.Name === 'on-failure') return !manuallyStopped && exitCode !== 0;
  return false;
}

/** The next back-off delay given the previous one and how long the last run lasted. */
export function nextRestartDelay(previousMs: number, ranForMs: number): number {
  if (ranForMs >= resetAfterMs || previousMs === 0) return initialDelayMs;
  return Math.min(previousMs * 2, maxDelayMs);
}
