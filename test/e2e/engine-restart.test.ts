import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitFor } from '../support/ports.ts';
import { runOk } from '../support/run.ts';
import { dockerChecks, runDocker, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

describe('restart policies and engine restarts', () => {
  let engine: TestEngine;

  before(async () => {
    engine = await startTestEngineWithBusybox();
  });
  after(() => engine?.close());

  const { ok } = dockerChecks(() => engine);
  const state = (name: string) => ok('inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', name);

  async function eventually(name: string, expected: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await state(name);
      if (expected.test(last)) return;
      await sleep(100);
    }
    assert.fail(`${name} never reached ${expected}: last "${last}"`);
  }

  test('on-failure:N restarts a failing container N times, then leaves it exited', async () => {
    await ok('run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 1');
    await eventually('flaky', /^exited 2 1$/);
    await sleep(500);
    assert.equal(await state('flaky'), 'exited 2 1', 'no third restart');
    assert.equal((await engine.docker(['logs', 'flaky'])).stdout, 'run\nrun\nrun\n');
    await ok('rm', 'flaky');
  });

  test('always restarts a clean exit; docker stop ends it for good', async () => {
    await ok('run', '-d', '--name', 'looper', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2');
    await eventually('looper', /^(running|restarting) [2-9]\d* 0$/);
    await ok('stop', '-t', '1', 'looper');
    await sleep(600);
    assert.match(await state('looper'), /^exited \d+ \d+$/);
    await ok('rm', 'looper');
  });

  test('docker kill disables the restart policy until the next start', async () => {
    await ok('run', '-d', '--name', 'killed', '--restart', 'always', 'busybox', 'sleep', '60');
    await ok('kill', 'killed');
    await sleep(500);
    assert.equal(await state('killed'), 'exited 0 137');
    await ok('rm', 'killed');
  });

  test('an engine restart keeps images, names and logs, brings back always/unless-stopped, removes --rm leftovers', async () => {
    await ok('run', '-d', '--name', 'always', '--restart', 'always', 'busybox', 'sleep', '600');
    await ok('run', '-d', '--name', 'unless', '--restart', 'unless-stopped', 'busybox', 'sleep', '600');
    await ok('run', '-d', '--name', 'stopped', '--restart', 'unless-stopped', 'busybox', 'sleep', '600');
    await ok('stop', '-t', '0', 'stopped');
    await ok('run', '-d', '--name', 'plain', 'busybox', 'sh', '-c', 'echo before-restart; sleep 600');
    await ok('run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sleep', '600');
    // Stopping the engine kills what runs: plain's line must be out first.
    await waitFor('plain to print its line', async () => (await engine.docker(['logs', 'plain'])).stdout === 'before-restart\n', 30_000);
    await engine.stop();
    const mounts = readFileSync('/proc/mounts', 'utf8');
    assert.ok(!mounts.includes(engine.root), 'no mount left behind once the engine has stopped');
    await engine.restart();
    assert.equal(await ok('images', '--format', '{{.Repository}}'), 'busybox');
    assert.match(await state('always'), /^running /);
    assert.match(await state('unless'), /^running /);
    assert.match(await state('stopped'), /^exited /);
    assert.match(await state('plain'), /^exited /);
    assert.equal((await engine.docker(['logs', 'plain'])).stdout, 'before-restart\n');
    assert.match((await engine.docker(['inspect', 'ephemeral'])).stderr, /No such object/);
    await ok('rm', '-f', 'always', 'unless', 'stopped', 'plain');
  });
});

describe('an engine killed with SIGKILL', () => {
  let engine: TestEngine;
  let daemon: ChildProcess | undefined;

  before(async () => {
    engine = await startTestEngineWithBusybox();
    await engine.stop();
  });
  after(async () => {
    daemon?.kill('SIGKILL');
    await engine?.close();
  });

  /** The same root served by a separate process, which the test can kill -9. */
  async function startDaemon(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'engine-daemon.ts'), engine.root, engine.socket], { stdio: 'ignore' });
    for (let i = 0; (await runDocker(['version'], engine.env)).code !== 0; i++) {
      if (i > 100) throw new Error('engine daemon did not start');
      await sleep(100);
    }
    return child;
  }

  test('restarts cleanly: leftovers are reaped, restart policies apply, nothing stays mounted', async () => {
    daemon = await startDaemon();
    const docker = (...args: string[]) => runDocker(args, engine.env);
    assert.equal((await docker('run', '-d', '--name', 'survivor', '--restart', 'always', 'busybox', 'sleep', '600')).code, 0);
    assert.equal((await docker('run', '-d', '--name', 'casualty', 'busybox', 'sleep', '600')).code, 0);
    daemon.kill('SIGKILL');
    await new Promise((resolve) => daemon!.once('exit', resolve));
    daemon = await startDaemon();
    const states = await docker('ps', '-a', '--format', '{{.Names}} {{.State}}');
    assert.deepEqual(states.stdout.trim().split('\n').sort(), ['casualty exited', 'survivor running']);
    assert.equal((await docker('rm', '-f', 'survivor', 'casualty')).code, 0);
    const mounts = readFileSync('/proc/mounts', 'utf8');
    assert.ok(!mounts.includes(engine.root), `no mount left behind: ${mounts.split('\n').filter((m) => m.includes(engine.root)).join('; ')}`);
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon!.once('exit', resolve));
    daemon = undefined;
  });

  test('kill -9 with published ports: the restarted engine forwards again and the dead run leaves nothing', async () => {
    daemon = await startDaemon();
    const docker = (...args: string[]) => runDocker(args, engine.env);
    const [kept, lost] = [await freePort(), await freePort()];
    const web = ['sh', '-c', 'mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www'];
    assert.equal((await docker('run', '-d', '--name', 'pub', '--restart', 'always', '-p', `${kept}:80`, 'busybox', ...web)).code, 0);
    const gone = (await docker('run', '-d', '--name', 'gone', '-p', `${lost}:80`, 'busybox', ...web)).stdout.trim();
    const answers = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).ok;
    await waitFor('published port', answers(kept), 10_000);
    daemon.kill('SIGKILL');
    await new Promise((resolve) => daemon!.once('exit', resolve));
    daemon = await startDaemon();
    await waitFor('published port after the restart', answers(kept), 10_000);
    const instance = readFileSync(join(engine.root, 'engine', 'engine-id'), 'utf8').trim().slice(0, 8);
    const dnat = async () => (await runOk('iptables-save', [])).split('\n').filter((l) => l.startsWith(`-A WHARF-${instance}-DNAT`));
    const rules = await dnat();
    assert.equal(rules.filter((r) => r.includes(`--dport ${kept} `)).length, 1, rules.join('\n'));
    assert.equal(rules.filter((r) => r.includes(`--dport ${lost} `)).length, 0, rules.join('\n'));
    assert.ok(!(await runOk('ip', ['netns', 'list'])).includes(`wharf-${gone.slice(0, 12)}`));
    assert.equal((await docker('rm', '-f', 'pub', 'gone')).code, 0);
    assert.deepEqual(await dnat(), []);
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon!.once('exit', resolve));
    daemon = undefined;
  });
});
