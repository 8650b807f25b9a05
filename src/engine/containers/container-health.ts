import { randomBytes } from 'node:crypto';
import type { ContainerRecord, HealthcheckResult } from './container-record.ts';
import { execContext } from './container-queries.ts';
import { setHealthStarting, setProbeResult } from './container-state.ts';
import type { DaemonContext } from './daemon-context.ts';
import { goDuration, hasHealthcheck, healthDefaults, maxOutputBytes, msOr, probeArgs, type HealthMonitor } from './health-config.ts';

/**
 * moby initHealthMonitor/updateHealthMonitor: at each start (and unpause) a container with a healthcheck gets a
 * monitor; a start resets the status to starting. Called with the container's lock held.
 */
export function startHealthMonitor(ctx: DaemonContext, record: ContainerRecord, options: { resume?: boolean } = {}): void {
  if (!hasHealthcheck(record.config)) return;
  const live = ctx.liveOf(record);
  void live.health?.stop();
  if (!options.resume || !record.state.Health) setHealthStarting(record.state);
  ctx.deps.store.save(record);
  const argv = probeArgs(record.config);
  live.health = argv ? monitor(ctx, record.id, argv) : undefined;
}

/** Ends the container's monitor (exit, pause); after an exit moby shows the last status as unhealthy. */
export async function stopHealthMonitor(ctx: DaemonContext, id: string, options: { exited?: boolean } = {}): Promise<void> {
  const live = ctx.live.get(id);
  const health = live?.health;
  if (live) live.health = undefined;
  await health?.stop();
  const record = ctx.deps.store.get(id);
  if (options.exited && record?.state.Health) record.state.Health.Status = 'unhealthy';
}

function monitor(ctx: DaemonContext, id: string, argv: string[]): HealthMonitor {
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<void> = Promise.resolve();
  let probeExecId: string | undefined;
  const probe: ProbeOptions = { stopping: stopping.signal, running: (execId) => (probeExecId = execId) };
  const schedule = () => {
    const record = ctx.deps.store.get(id);
    if (!record || stopping.signal.aborted) return;
    timer = setTimeout(() => {
      probing = probeOnce(ctx, id, argv, probe).catch((err) => ctx.deps.logger.warn({ err, id }, 'health check failed'));
      void probing.then(schedule);
    }, nextInterval(record, ctx.now()));
  };
  schedule();
  return {
    stop: async () => {
      stopping.abort();
      clearTimeout(timer);
      await probing;
    },
    probeExecId: () => probeExecId,
  };
}

/** What a probe needs from its monitor: the stop signal, and where to say which exec runs (undefined once done). */
interface ProbeOptions {
  stopping: AbortSignal;
  running(execId: string | undefined): void;
}

/** moby 25: the start interval while starting within the start period, the interval otherwise. */
function nextInterval(record: ContainerRecord, now: number): number {
  const check = record.config.Healthcheck ?? {};
  const startPeriod = msOr(check.StartPeriod, healthDefaults.startPeriodMs);
  const withinStart = now - Date.parse(record.state.StartedAt) < startPeriod && record.state.Health?.Status === 'starting';
  return withinStart ? msOr(check.StartInterval, healthDefaults.startIntervalMs) : msOr(check.Interval, healthDefaults.intervalMs);
}

/** One probe: run, record the result (unless the monitor stopped meanwhile) and announce a change of status. */
async function probeOnce(ctx: DaemonContext, id: string, argv: string[], probe: ProbeOptions): Promise<void> {
  const record = ctx.deps.store.get(id);
  if (!record) return;
  const check = record.config.Healthcheck ?? {};
  const timeoutMs = msOr(check.Timeout, healthDefaults.timeoutMs);
  const result = await runProbe(ctx, record, argv, { ...probe, timeoutMs });
  if (probe.stopping.aborted) return;
  // A probe failing while the container is being stopped failed from the stop (its kill reaches the probe before
  // the exit stops the monitor): moby drops a result once its monitor is told to stop, and shows FailingStreak 0.
  const live = ctx.live.get(id);
  if (result.ExitCode !== 0 && (live?.stopping || live?.exiting)) return;
  const changed = setProbeResult(record.state, result, {
    retries: check.Retries && check.Retries > 0 ? check.Retries : healthDefaults.retries,
    startPeriodMs: msOr(check.StartPeriod, healthDefaults.startPeriodMs),
  });
  ctx.deps.store.save(record);
  if (changed) ctx.event(record, `health_status: ${changed}`);
}

/** moby cmdProbe.run: one probe; past the timeout it counts as failed with moby's text (-1). */
async function runProbe(ctx: DaemonContext, record: ContainerRecord, argv: string[], options: ProbeOptions & { timeoutMs: number }): Promise<HealthcheckResult> {
  const start = new Date(ctx.now()).toISOString();
  const end = () => new Date(ctx.now()).toISOString();
  try {
    const { exitCode, output, timedOut } = await execProbe(ctx, record, argv, options);
    if (timedOut) return { Start: start, End: end(), ExitCode: -1, Output: `Health check exceeded timeout (${goDuration(options.timeoutMs)})` };
    return { Start: start, End: end(), ExitCode: exitCode, Output: output };
  } catch (err) {
    return { Start: start, End: end(), ExitCode: -1, Output: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * An exec in the container as its user and working directory, stdin closed, stdout and stderr together, with
 * moby's exec events, listed in the container's ExecIDs from its create to its exit; killed at the timeout or
 * when the monitor stops.
 */
async function execProbe(ctx: DaemonContext, record: ContainerRecord, argv: string[], options: ProbeOptions & { timeoutMs: number }): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
  const execId = randomBytes(32).toString('hex');
  options.running(execId);
  try {
    return await runExec(ctx, record, argv, execId, options);
  } finally {
    options.running(undefined);
  }
}

async function runExec(ctx: DaemonContext, record: ContainerRecord, argv: string[], execId: string, options: ProbeOptions & { timeoutMs: number }) {
  const command = argv.join(' ');
  const { env, cwd, bundleDir } = execContext(ctx, record.id, {});
  ctx.event(record, `exec_create: ${command}`, { execID: execId });
  const process = await ctx.deps.runtime.exec(record.id, bundleDir, { execId, args: argv, env, cwd, user: record.config.User, terminal: false, openStdin: false, privileged: false });
  ctx.event(record, `exec_start: ${command}`, { execID: execId });
  let timedOut = false;
  const kill = () => void process.kill('KILL').catch(() => undefined);
  const timer = setTimeout(() => ((timedOut = true), kill()), options.timeoutMs);
  options.stopping.addEventListener('abort', kill, { once: true });
  // Stopped while the exec was being spawned: the listener came too late to hear it.
  if (options.stopping.aborted) kill();
  try {
    const [output, exit] = await Promise.all([collectOutput([process.stdout, process.stderr]), process.exited]);
    ctx.event(record, 'exec_die', { execID: execId, exitCode: String(exit.exitCode) });
    return { exitCode: exit.exitCode, output, timedOut };
  } finally {
    clearTimeout(timer);
    options.stopping.removeEventListener('abort', kill);
  }
}

/** moby's limitedBuffer: the first 4096 bytes of everything written, "..." when more was dropped. */
async function collectOutput(sources: (NodeJS.ReadableStream | undefined)[]): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let truncated = false;
  await Promise.all(
    sources.filter((s) => s !== undefined).map(async (source) => {
      for await (const chunk of source) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        const room = maxOutputBytes - kept;
        if (bytes.length > room) truncated = true;
        if (room > 0) chunks.push(bytes.subarray(0, room));
        kept += Math.min(room, bytes.length);
      }
    }),
  );
  return Buffer.concat(chunks).toString('utf8') + (truncated ? '...' : '');
}
