import { Fault } from '../../base/fault.ts';
import type { ContainerConfig, HealthConfig } from './container-record.ts';

/** moby daemon/health.go defaults (a zero field means the default). */
export const healthDefaults = { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3 };
/** moby keeps at most this much of a probe's output, then appends "...". */
export const maxOutputBytes = 4096;
const nsPerMs = 1e6;

/** What a container's health monitor does, so start, exit and pause can begin and end it. */
export interface HealthMonitor {
  /** Ends the monitor; a probe in flight is killed and waited for, its result dropped. */
  stop(): Promise<void>;
  /** The exec ID of the probe running now (moby lists it in the container's ExecIDs meanwhile). */
  probeExecId(): string | undefined;
}

/**
 * moby daemon/commit.go merge: the user's healthcheck over the image's, field by field; an empty Test inherits
 * the image's. moby's verifyContainerSettings checks the user's durations first.
 */
export function mergeHealthcheck(user: HealthConfig | null | undefined, image: unknown): HealthConfig | undefined {
  if (user) checkHealthConfig(user);
  const fromImage = isHealthConfig(image) ? image : undefined;
  if (!user) return fromImage;
  const merged: HealthConfig = { ...user };
  if (!merged.Test?.length && fromImage?.Test) merged.Test = fromImage.Test;
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if (!merged[key] && fromImage?.[key]) merged[key] = fromImage[key];
  }
  return merged;
}

function isHealthConfig(value: unknown): value is HealthConfig {
  return typeof value === 'object' && value !== null;
}

function checkHealthConfig(config: HealthConfig): void {
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const ns = config[key] ?? 0;
    if (ns !== 0 && ns < nsPerMs) throw new Fault('invalid-argument', `${key} in Healthcheck cannot be less than 1ms`);
  }
  if ((config.Retries ?? 0) < 0) throw new Fault('invalid-argument', 'Retries in Healthcheck cannot be negative');
}

/** The shell of CMD-SHELL probes when the container has none (moby getShell). */
const defaultShell = ['/bin/sh', '-c'];

/**
 * moby getProbe and cmdProbe.run: the argv a probe runs, CMD-SHELL's words after the container's Config.Shell
 * (each its own argument, as moby appends them); undefined without one (no Test, `NONE`, an unknown kind).
 */
export function probeArgs(config: Pick<ContainerConfig, 'Healthcheck' | 'Shell'>): string[] | undefined {
  const [kind, ...rest] = config.Healthcheck?.Test ?? [];
  if (kind === 'CMD' && rest.length) return rest;
  if (kind === 'CMD-SHELL' && rest.length) return [...(config.Shell?.length ? config.Shell : defaultShell), ...rest];
  return undefined;
}

/** Whether a container has State.Health at all: `--no-healthcheck` (Test ["NONE"]) has none, as in moby. */
export function hasHealthcheck(config: ContainerConfig): boolean {
  const test = config.Healthcheck?.Test;
  return Boolean(test?.length && test[0] !== 'NONE');
}

/** Go's time.Duration String for whole milliseconds: 1s, 1.5s, 100ms, 1m30s. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  return `${hours ? `${hours}h` : ''}${hours || minutes ? `${minutes}m` : ''}${seconds}s`;
}

/** Node's timers fire at once past 2^31-1 ms (about 24.8 days): longer durations wait that long instead. */
const maxTimerMs = 2 ** 31 - 1;

/** A HealthConfig duration (ns, 0 = default) in milliseconds. */
export function msOr(ns: number | undefined, fallback: number): number {
  return ns ? Math.min(maxTimerMs, Math.max(1, Math.round(ns / nsPerMs))) : fallback;
}
