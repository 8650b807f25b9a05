import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { importBusybox } from '../support/busybox.ts';
import { startDockerd, type Dockerd } from '../support/dockerd.ts';
import { run } from '../support/run.ts';
import { type Side, sideChecks } from '../support/side-by-side.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

type DockerSide = Pick<Side, 'name' | 'docker'>;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `docker ps` STATUS with the uptime cut off: `(healthy)`, `(health: starting)`, '' … by name. */
async function psHealth(ok: (...args: string[]) => Promise<string>): Promise<Record<string, string>> {
  const lines = (await ok('ps', '--format', '{{.Names}}|{{.Status}}')).split('\n').filter(Boolean);
  return Object.fromEntries(lines.map((line) => line.split('|')).map(([name, status]) => [name, /\((.*)\)$/.exec(status)?.[1] ?? '']));
}

const healthRuns: Record<string, string[]> = {
  good: ['--health-cmd', 'echo hi; exit 0', '--health-interval', '1s'],
  bad: ['--health-cmd', 'echo bad >&2; exit 3', '--health-interval', '1s', '--health-retries', '2'],
  off: ['--no-healthcheck'],
  slow: ['--health-cmd', 'sleep 5', '--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '20'],
};

interface HealthView {
  ps: Record<string, string>;
  health: Record<string, { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] } | null>;
  keys: string[];
  logKeys: string[];
  events: string[];
  /** `ps --filter health=X` names by X. */
  filtered: Record<string, string>;
  stopped: unknown;
  restarted: string;
}

/** Runs the four health containers, waits for each to settle and collects what a user would look at. */
async function healthView(docker: DockerSide, network: string[]): Promise<HealthView> {
  const { ok, json } = sideChecks(docker);
  for (const [name, flags] of Object.entries(healthRuns)) await ok('run', '-d', '--name', name, ...network, ...flags, 'busybox', 'sleep', '300');
  await until('good healthy, bad unhealthy, slow probed', async () => {
    const [good, bad, slow] = await Promise.all(['good', 'bad', 'slow'].map((n) => json(n, '.State.Health')));
    return good.Status === 'healthy' && bad.Status === 'unhealthy' && slow.Log?.length ? true : undefined;
  });
  const health: HealthView['health'] = {};
  for (const name of Object.keys(healthRuns)) health[name] = await json(name, '.State.Health');
  const ps = await psHealth(ok);
  const filtered: Record<string, string> = {};
  for (const status of ['starting', 'healthy', 'unhealthy', 'none']) {
    filtered[status] = (await ok('ps', '--filter', `health=${status}`, '--format', '{{.Names}}')).split('\n').filter((n) => n in healthRuns).sort().join(' ');
  }
  const events = (await ok('events', '--since', '0', '--until', String(Math.floor(Date.now() / 1000) + 1), '--format', '{{.Action}} {{.Actor.Attributes.name}}'))
    .split('\n')
    .filter((line) => line.startsWith('health_status'));
  await ok('stop', '-t', '1', 'good');
  const stopped = await json('good', '.State.Health');
  await ok('start', 'good');
  const restarted = (await json('good', '.State.Health')).Status as string;
  await until('good healthy again', async () => ((await json('good', '.State.Health')).Status === 'healthy' ? true : undefined));
  await ok('rm', '-f', ...Object.keys(healthRuns));
  return {
    ps: Object.fromEntries(Object.keys(healthRuns).map((n) => [n, ps[n]])),
    health,
    keys: Object.keys(health.good ?? {}).sort(),
    logKeys: Object.keys(health.good?.Log[0] ?? {}).sort(),
    events: [...new Set(events)].sort(),
    filtered,
    stopped: { Status: (stopped as { Status: string }).Status, FailingStreak: (stopped as { FailingStreak: number }).FailingStreak },
    restarted,
  };
}

interface InitView {
  cmdline: string;
  init: unknown;
  zombiesWithInit: string[];
  stopMs: number;
  exitCode: string;
  initBinary: string;
}

/** `--init`: docker-init as PID 1 reaps an orphan and forwards docker stop's SIGTERM to a `sleep`. */
async function initView(docker: DockerSide, network: string[]): Promise<InitView> {
  const { ok, json } = sideChecks(docker);
  await ok('run', '-d', '--name', 'inited', ...network, '--init', 'busybox', 'sh', '-c', '(sleep 1 &); exec sleep 300');
  const cmdline = (await ok('exec', 'inited', 'cat', '/proc/1/cmdline')).replaceAll('\0', ' ').trim();
  const init = await json('inited', '.HostConfig.Init');
  // Once the orphan has ended (a second after the shell forked it, later on a loaded machine; the shell execs
  // sleep 300 after the fork), else "no zombie" is vacuous.
  await until('the orphan sleep to end', async () => {
    const args = (await ok('exec', 'inited', 'ps', '-o', 'args')).split('\n').map((line) => line.trim());
    return args.includes('sleep 300') && !args.includes('sleep 1') ? true : undefined;
  });
  const zombiesWithInit = (await ok('exec', 'inited', 'ps', '-o', 'stat,comm')).split('\n').filter((line) => line.trim().startsWith('Z'));
  const started = Date.now();
  await ok('stop', '-t', '5', 'inited');
  const stopMs = Date.now() - started;
  const exitCode = await ok('inspect', '-f', '{{.State.ExitCode}}', 'inited');
  await ok('rm', 'inited');
  return { cmdline, init, zombiesWithInit, stopMs, exitCode, initBinary: await ok('info', '--format', '{{.InitBinary}}') };
}

interface ShellView {
  shell: unknown;
  committedShell: unknown;
  probe: { trace: string; length: number };
  fromImage: { shell: unknown; probe: string };
  execIds: number;
}

/**
 * CMD-SHELL probes under the container's Config.Shell (the create request's: moby does not take the image's),
 * each word after the shell its own argument; a commit keeps the Shell; a running probe is among ExecIDs.
 */
async function shellView(docker: DockerSide, api: Docker): Promise<ShellView> {
  const { ok, json } = sideChecks(docker);
  const container = await api.createContainer({
    name: 'shelled',
    Image: 'busybox',
    Cmd: ['sleep', '300'],
    Shell: ['/bin/sh', '-xc'],
    Healthcheck: { Test: ['CMD-SHELL', 'echo a', 'b'], Interval: 500e6 },
    HostConfig: { NetworkMode: 'none' },
  });
  await container.start();
  const firstLog = (name: string) => until(`a probe of ${name}`, async () => (await json(name, '.State.Health')).Log?.[0]?.Output as string | undefined);
  // `sh -x` writes its trace to stderr and the echo to stdout; the two interleave anywhere, even inside a line
  // (dockerd's log once read "+ a\necho a\n"), so the echo's own "a\n" is taken out and the rest must be the trace.
  const output = await firstLog('shelled');
  const probe = { trace: output.replace('a\n', ''), length: output.length };
  const shell = await json('shelled', '.Config.Shell');
  await ok('commit', 'shelled', 'shelled-image');
  const committedShell = JSON.parse(await ok('image', 'inspect', '-f', '{{json .Config.Shell}}', 'shelled-image'));
  await ok('run', '-d', '--name', 'from-image', '--network', 'none', '--health-cmd', 'echo c', '--health-interval', '500ms', 'shelled-image');
  const fromImage = { shell: await json('from-image', '.Config.Shell'), probe: await firstLog('from-image') };
  await ok('run', '-d', '--name', 'probing', '--network', 'none', '--health-cmd', 'sleep 3', '--health-interval', '500ms', 'busybox', 'sleep', '300');
  const execIds = await until('a probe in ExecIDs', async () => ((await json('probing', '.ExecIDs')) as string[] | null)?.length);
  await ok('rm', '-f', 'shelled', 'from-image', 'probing');
  await ok('rmi', 'shelled-image');
  return { shell, committedShell, probe, fromImage, execIds };
}

describe('--init and healthchecks, against dockerd 20.10', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  const wharf: DockerSide = { name: 'wharf', docker: (args) => engine.docker(args) };
  const anchor: DockerSide = { name: 'dockerd', docker: (args) => dockerd.docker(args) };

  before(async () => {
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(), startDockerd()]);
    await importBusybox(dockerd, 'busybox');
  });
  after(async () => {
    await Promise.all([engine?.close(), dockerd?.stop()]);
  });

  test('--init runs docker-init as PID 1, reaps orphans and stops a sleep in well under the timeout with 143', async () => {
    const [ours, theirs] = await Promise.all([initView(wharf, []), initView(anchor, ['--network', 'none'])]);
    assert.deepEqual({ ...ours, stopMs: 0 }, { ...theirs, stopMs: 0 });
    assert.equal(ours.cmdline, '/sbin/docker-init -- sh -c (sleep 1 &); exec sleep 300');
    assert.deepEqual(ours.zombiesWithInit, []);
    assert.equal(ours.exitCode, '143');
    assert.ok(ours.stopMs < 3000, `docker stop took ${ours.stopMs} ms`);
  });

  test('without --init the same orphan stays a zombie (the reaping check above means something)', async () => {
    const { ok } = sideChecks(wharf);
    await ok('run', '-d', '--name', 'bare', 'busybox', 'sh', '-c', '(sleep 1 &); exec sleep 300');
    const zombies = await until('the orphan to end', async () => {
      const found = (await ok('exec', 'bare', 'ps', '-o', 'stat,comm')).split('\n').filter((line) => line.trim().startsWith('Z'));
      return found.length ? found : undefined;
    });
    await ok('rm', '-f', 'bare');
    assert.equal(zombies.length, 1, 'one <defunct> sleep');
  });

  test('State.Health, ps status, health_status events and a restart are as dockerd shows them', async () => {
    const [ours, theirs] = await Promise.all([healthView(wharf, []), healthView(anchor, ['--network', 'none'])]);
    assert.deepEqual(ours.ps, { good: 'healthy', bad: 'unhealthy', off: '', slow: 'health: starting' });
    assert.deepEqual(ours.ps, theirs.ps);
    assert.deepEqual([ours.keys, ours.logKeys], [theirs.keys, theirs.logKeys]);
    assert.deepEqual(ours.events, theirs.events);
    assert.deepEqual(ours.events, ['health_status: healthy good', 'health_status: unhealthy bad']);
    assert.deepEqual(ours.filtered, { starting: 'slow', healthy: 'good', unhealthy: 'bad', none: 'off' });
    assert.deepEqual(ours.filtered, theirs.filtered);
    assert.equal(ours.health.off, null);
    assert.equal(theirs.health.off, null);
    for (const view of [ours, theirs]) {
      assert.deepEqual(view.health.good?.Log[0] && { ExitCode: view.health.good.Log[0].ExitCode, Output: view.health.good.Log[0].Output }, { ExitCode: 0, Output: 'hi\n' });
      assert.deepEqual(view.health.bad?.Log.at(-1) && { ExitCode: view.health.bad.Log.at(-1)?.ExitCode, Output: view.health.bad.Log.at(-1)?.Output }, { ExitCode: 3, Output: 'bad\n' });
      assert.deepEqual(view.health.slow?.Log[0] && { ExitCode: view.health.slow.Log[0].ExitCode, Output: view.health.slow.Log[0].Output }, { ExitCode: -1, Output: 'Health check exceeded timeout (1s)' });
      assert.ok((view.health.bad?.FailingStreak ?? 0) >= 2);
    }
    assert.deepEqual(ours.stopped, theirs.stopped);
    assert.deepEqual(ours.stopped, { Status: 'unhealthy', FailingStreak: 0 });
    assert.equal(ours.restarted, 'starting');
    assert.equal(theirs.restarted, 'starting');
  });

  test('CMD-SHELL probes run under Config.Shell as dockerd runs them, and a running probe is listed in ExecIDs', async () => {
    const [ours, theirs] = await Promise.all([
      shellView(wharf, new Docker({ socketPath: engine.socket })),
      shellView(anchor, new Docker({ socketPath: dockerd.host.replace('unix://', '') })),
    ]);
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours, {
      shell: ['/bin/sh', '-xc'],
      committedShell: ['/bin/sh', '-xc'],
      probe: { trace: '+ echo a\n', length: 11 },
      fromImage: { shell: null, probe: 'c\n' },
      execIds: 1,
    });
  });

  test('docker-compose 1.29 starts a service that depends on service_healthy only once its db is healthy', async () => {
    const dir = join(engine.root, 'health-project');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      `version: "2.4"
services:
  db:
    image: busybox
    command: ["sh", "-c", "sleep 3; touch /tmp/ready; exec sleep 300"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
  app:
    image: busybox
    command: ["sleep", "300"]
    stop_signal: SIGKILL
    depends_on:
      db:
        condition: service_healthy
`,
    );
    const compose = (...args: string[]) => run('docker-compose', ['-p', 'healthe2e', ...args], { env: engine.env, cwd: dir, timeoutMs: 180_000 });
    try {
      const since = (Date.now() / 1000).toFixed(3);
      const up = await compose('up', '-d');
      assert.equal(up.code, 0, up.stderr);
      const { ok, json } = sideChecks(wharf);
      const appStarted = Date.parse(await json('healthe2e_app_1', '.State.StartedAt'));
      // The db's probes from its events, not from State.Health.Log: that keeps the last five only, which a slow
      // machine may have filled with healthy ones by now.
      const probes = (await ok('events', '--since', since, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', 'container=healthe2e_db_1',
        '--format', '{{.Action}}|{{index .Actor.Attributes "exitCode"}}|{{.TimeNano}}'))
        .split('\n')
        .map((line) => line.split('|'))
        .filter(([action]) => action === 'exec_die' || action === 'health_status: healthy');
      assert.deepEqual(probes[0]?.slice(0, 2), ['exec_die', '1'], `the db was probed unhealthy first: ${JSON.stringify(probes)}`);
      const healthy = probes.find(([action]) => action === 'health_status: healthy');
      assert.ok(healthy, JSON.stringify(probes));
      const healthyAt = Number(BigInt(healthy[2]) / 1_000_000n);
      assert.ok(appStarted >= healthyAt, `app started ${new Date(appStarted).toISOString()} before the db was healthy ${new Date(healthyAt).toISOString()}`);
    } finally {
      await compose('down', '-t', '0');
    }
  });
});
