import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerChecks, dockerBin, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

describe('container lifecycle with the docker CLI', () => {
  let engine: TestEngine;

  before(async () => {
    engine = await startTestEngineWithBusybox(['-c', 'CMD ["sh"]']);
  });
  after(() => engine?.close());

  const d = (...args: string[]) => engine.docker(args);
  const { ok } = dockerChecks(() => engine);

  test('-d prints the ID; logs, --tail, -t and --since read the persisted log', async () => {
    const id = await ok('run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; done; sleep 0.3; echo err >&2; sleep 60');
    assert.match(id, /^[a-f0-9]{64}$/);
    await waitFor(async () => (await d('logs', 'counter')).stderr === 'err\n');
    const logs = await d('logs', 'counter');
    assert.equal(logs.stdout, 'line 1\nline 2\nline 3\n');
    assert.equal((await d('logs', '--tail', '2', 'counter')).stdout, 'line 3\n');
    const stamped = (await d('logs', '-t', '--tail', '1', 'counter')).stderr;
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z err\n$/);
    assert.equal((await d('logs', '--since', '1h', 'counter')).stdout, 'line 1\nline 2\nline 3\n');
    assert.equal((await d('logs', '--since', String(Math.floor(Date.now() / 1000) + 5), 'counter')).stdout, '');
    await ok('rm', '-f', 'counter');
  });

  test('logs -f follows new output and ends when the container stops', async () => {
    await ok('run', '-d', '--name', 'follow', 'busybox', 'sh', '-c', 'echo one; sleep 1; echo two');
    const follow = await engine.docker(['logs', '-f', 'follow'], { timeoutMs: 15_000 });
    assert.equal(follow.code, 0);
    assert.equal(follow.stdout, 'one\ntwo\n');
    const again = await engine.docker(['logs', '-f', 'follow'], { timeoutMs: 5_000 });
    assert.equal(again.stdout, 'one\ntwo\n', 'logs -f on a stopped container prints and exits');
    await ok('rm', 'follow');
  });

  test('ps shows moby status strings; -a, -q and filters narrow the list', async () => {
    await ok('create', '--name', 'fresh', '--label', 'tier=web', 'busybox');
    assert.equal((await d('run', '--name', 'done', 'busybox', 'sh', '-c', 'exit 2')).code, 2);
    await ok('run', '-d', '--name', 'up', '--label', 'tier=db', 'busybox', 'sleep', '60');
    const table = await ok('ps', '-a', '--format', '{{.Names}}|{{.Status}}|{{.Command}}');
    const rows = Object.fromEntries(table.split('\n').map((line) => [line.split('|')[0], line]));
    assert.equal(rows.fresh, 'fresh|Created|"sh"');
    assert.match(rows.done, /^done\|Exited \(2\) (Less than a second|\d+ seconds?) ago\|"sh -c 'exit 2'"$/);
    assert.match(rows.up, /^up\|Up (Less than a second|\d+ seconds?)\|"sleep 60"$/);
    assert.equal(await ok('ps', '--format', '{{.Names}}'), 'up');
    assert.equal(await ok('ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}}'), 'done');
    assert.equal(await ok('ps', '-a', '--filter', 'label=tier=web', '--format', '{{.Names}}'), 'fresh');
    assert.equal(await ok('ps', '-a', '--filter', 'name=fre', '--format', '{{.Names}}'), 'fresh');
    assert.equal(await ok('ps', '-a', '--filter', 'exited=2', '--format', '{{.Names}}'), 'done');
    assert.equal((await ok('ps', '-a', '--filter', 'ancestor=busybox', '-q')).split('\n').length, 3);
    assert.equal((await ok('ps', '-aq')).split('\n').length, 3);
    assert.equal(await ok('ps', '-a', '-n', '1', '--format', '{{.Names}}'), 'up');
    await ok('rm', '-f', 'fresh', 'done', 'up');
  });

  test('inspect has moby’s shape with the types the CLI decodes', async () => {
    const id = await ok('run', '-d', '--name', 'shape', '-e', 'A=1', 'busybox', 'sleep', '60');
    const [json] = JSON.parse(await ok('inspect', 'shape'));
    assert.equal(json.Id, id);
    assert.equal(json.Name, '/shape');
    assert.equal(typeof json.Created, 'string');
    assert.equal(json.State.Status, 'running');
    assert.equal(json.State.Running, true);
    assert.ok(json.State.Pid > 0);
    assert.equal(json.Config.Image, 'busybox');
    assert.ok(json.Config.Env.includes('A=1'));
    assert.deepEqual(json.Config.Cmd, ['sleep', '60']);
    assert.equal(json.Config.Tty, false);
    assert.equal(json.HostConfig.NetworkMode, 'default');
    assert.equal(json.RestartCount, 0);
    assert.equal(await ok('inspect', '-f', '{{.State.Status}} {{.Config.Image}}', 'shape'), 'running busybox');
    await ok('rm', '-f', 'shape');
  });

  test('stop sends the signal, waits the grace period, then kills; 304 when already stopped', async () => {
    // PID 1 ignores a signal it has no handler for: the signal goes once the trap is set, not after a fixed time.
    await ok('run', '-d', '--name', 'trapper', 'busybox', 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while true; do sleep 0.1; done');
    await waitFor(async () => (await d('logs', 'trapper')).stdout === 'ready\n');
    await ok('stop', 'trapper');
    assert.equal(await ok('inspect', '-f', '{{.State.ExitCode}}', 'trapper'), '7');
    assert.equal((await d('logs', 'trapper')).stdout, 'ready\ngot TERM\n');
    assert.equal((await d('stop', 'trapper')).code, 0, 'stopping a stopped container is not an error');
    await ok('run', '-d', '--name', 'stubborn', 'busybox', 'sleep', '60');
    const started = Date.now();
    await ok('stop', '-t', '1', 'stubborn');
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 5000, `stop -t 1 took ${took} ms`);
    assert.equal(await ok('inspect', '-f', '{{.State.ExitCode}}', 'stubborn'), '137');
    await ok('rm', 'trapper', 'stubborn');
  });

  test('kill -s delivers named and numbered signals; killing a stopped container is a conflict', async () => {
    await ok('run', '-d', '--name', 'sig', 'busybox', 'sh', '-c', 'trap "echo usr1" USR1; trap "exit 9" HUP; echo ready; while true; do sleep 0.1; done');
    await waitFor(async () => (await d('logs', 'sig')).stdout === 'ready\n');
    await ok('kill', '-s', 'USR1', 'sig');
    await waitFor(async () => (await d('logs', 'sig')).stdout === 'ready\nusr1\n');
    await ok('kill', '-s', '1', 'sig');
    assert.equal(await ok('wait', 'sig'), '9');
    const again = await d('kill', 'sig');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not running/);
    await ok('rm', 'sig');
  });

  test('rm refuses a running container without -f; rm -f removes it', async () => {
    await ok('run', '-d', '--name', 'busy', 'busybox', 'sleep', '60');
    const refused = await d('rm', 'busy');
    assert.match(refused.stderr, /cannot remove container "\/busy": container is running: stop the container before removing or force remove/);
    await ok('rm', '-f', 'busy');
    assert.match((await d('inspect', 'busy')).stderr, /No such object: busy/);
  });

  test('diff lists what a container added, changed and deleted in its rootfs', async () => {
    await ok('run', '--name', 'differ', 'busybox', 'sh', '-c', 'echo x >/new.txt; rm /bin/ls; echo y >>/etc/passwd');
    const lines = (await ok('diff', 'differ')).split('\n').sort();
    for (const line of ['A /new.txt', 'C /bin', 'D /bin/ls', 'C /etc', 'C /etc/passwd']) assert.ok(lines.includes(line), `${line} in ${lines.join(', ')}`);
    assert.match((await d('diff', 'nosuch')).stderr, /No such container: nosuch/);
    await ok('rm', 'differ');
  });

  test('commit turns a container’s changes into an image that runs, with -c changes, author and history', async () => {
    await ok('run', '--name', 'committer', 'busybox', 'sh', '-c', 'echo committed >/greeting; rm /bin/ls');
    const id = await ok('commit', '-m', 'add greeting', '-a', 'wharf tests', '-c', 'CMD ["cat", "/greeting"]', '-c', 'ENV GREETING=yes', 'committer', 'greeted:v1');
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    assert.equal(await ok('run', '--rm', 'greeted:v1'), 'committed');
    assert.equal(await ok('run', '--rm', 'greeted:v1', 'sh', '-c', 'test -e /bin/ls || echo gone; echo $GREETING'), 'gone\nyes');
    assert.equal(await ok('inspect', '-f', '{{.Author}} {{len .RootFS.Layers}}', 'greeted:v1'), 'wharf tests 2');
    const history = (await ok('history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'greeted:v1')).split('\n');
    assert.match(history[0], /^sh -c echo committed >\/greeting; rm \/bin\/ls\|add greeting$/);
    await ok('run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo live >/state; sleep 60');
    for (let i = 0; i < 50 && (await d('exec', 'live', 'test', '-e', '/state')).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    await ok('commit', 'live', 'live:v1');
    assert.equal(await ok('inspect', '-f', '{{.State.Status}}', 'live'), 'running', 'paused for the commit, then resumed');
    assert.equal(await ok('run', '--rm', 'live:v1', 'cat', '/state'), 'live');
    assert.match((await d('commit', 'nosuch', 'x:y')).stderr, /No such container: nosuch/);
    await ok('rm', '-f', 'live', 'committer');
    await ok('rmi', 'greeted:v1', 'live:v1');
  });

  test('rename, restart, top, pause and unpause', async () => {
    await ok('run', '-d', '--name', 'old', 'busybox', 'sleep', '60');
    await ok('rename', 'old', 'new');
    assert.equal(await ok('inspect', '-f', '{{.Name}}', 'new'), '/new');
    const pidBefore = await ok('inspect', '-f', '{{.State.Pid}}', 'new');
    await ok('restart', '-t', '0', 'new');
    assert.notEqual(await ok('inspect', '-f', '{{.State.Pid}}', 'new'), pidBefore);
    const top = await ok('top', 'new');
    assert.match(top.split('\n')[0], /PID/);
    assert.match(top, /sleep 60/);
    await ok('pause', 'new');
    assert.match(await ok('ps', '--filter', 'name=new', '--format', '{{.Status}}'), /\(Paused\)$/);
    assert.equal(await ok('inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'new'), 'paused true');
    await ok('unpause', 'new');
    assert.equal(await ok('inspect', '-f', '{{.State.Status}}', 'new'), 'running');
    await ok('rm', '-f', 'new');
  });

  test('wait returns the exit code; --rm keeps it for condition=removed', async () => {
    await ok('run', '-d', '--name', 'waiter', 'busybox', 'sh', '-c', 'sleep 0.5; exit 4');
    assert.equal(await ok('wait', 'waiter'), '4');
    assert.equal(await ok('wait', 'waiter'), '4', 'a stopped container answers at once');
    await ok('rm', 'waiter');
    const run = await d('run', '--rm', 'busybox', 'sh', '-c', 'exit 6');
    assert.equal(run.code, 6);
  });

  test('exec runs in the container with its env, returns the exit code, takes stdin, and reports a missing command', async () => {
    await ok('run', '-d', '--name', 'host', '-e', 'A=1', 'busybox', 'sleep', '60');
    const first = await d('exec', 'host', 'sh', '-c', 'echo out $A $HOME; echo err >&2; exit 3');
    assert.deepEqual([first.code, first.stdout, first.stderr], [3, 'out 1 /root\n', 'err\n']);
    assert.equal(await ok('exec', '-e', 'A=2', '-w', '/tmp', '-u', 'nobody', 'host', 'sh', '-c', 'echo $A $(pwd) $(id -u)'), '2 /tmp 65534');
    assert.equal((await engine.docker(['exec', '-i', 'host', 'tr', 'a-z', 'A-Z'], { input: 'quiet\n' })).stdout, 'QUIET\n');
    const missing = await d('exec', 'host', 'nope');
    assert.equal(missing.code, 126, 'moby: an exec that cannot start is 126, even for a missing command (run says 127)');
    assert.match(missing.stdout + missing.stderr, /executable file not found/);
    await ok('exec', '-d', 'host', 'sh', '-c', 'echo detached > /tmp/d');
    await waitFor(async () => (await d('exec', 'host', 'cat', '/tmp/d')).stdout === 'detached\n');
    await ok('stop', '-t', '0', 'host');
    assert.match((await d('exec', 'host', 'true')).stderr, /is not running/);
    await ok('rm', 'host');
  });

  test('clients that vanish mid-stream do not hurt the engine or the container', async () => {
    await ok('run', '-d', '--name', 'steady', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.1; done');
    const vanishing = [
      ['logs', '-f', 'steady'],
      ['attach', 'steady'],
      ['events'],
      ['run', '-i', '--name', 'orphan', 'busybox', 'sh', '-c', 'while true; do echo x; sleep 0.1; done'],
      ['wait', 'steady'],
    ].map((args) => spawn(dockerBin, args, { env: engine.env, stdio: ['pipe', 'pipe', 'pipe'] }));
    // Killed mid-stream: once the orphan runs and the first two stream what the container prints.
    const printed = vanishing.slice(0, 2).map((child) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      return () => out;
    });
    await waitFor(async () => (await d('inspect', '-f', '{{.State.Status}}', 'orphan')).stdout.trim() === 'running', 30_000);
    await waitFor(async () => printed.every((out) => out().includes('tick')), 30_000);
    for (const child of vanishing) child.kill('SIGKILL');
    await raw(engine.socket, 'POST /v1.44/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Ima');
    await raw(engine.socket, 'POST /v1.44/containers/steady/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    await sleep(300);
    assert.equal(await ok('inspect', '-f', '{{.State.Status}}', 'steady'), 'running');
    assert.equal(await ok('inspect', '-f', '{{.State.Status}}', 'orphan'), 'running', 'a killed CLI leaves its container running');
    assert.match((await d('logs', '--tail', '1', 'steady')).stdout, /^tick\n$/);
    await ok('rm', '-f', 'steady', 'orphan');
  });

  test('events stream live and replay with --since', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    // --since as well: what happened before the CLI subscribed is replayed, then the stream goes on live.
    const liveSince = (Date.now() / 1000).toFixed(3);
    const live = spawn(dockerBin, ['events', '--since', liveSince, '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], { env: engine.env });
    let seen = '';
    live.stdout.on('data', (c: Buffer) => (seen += c.toString()));
    await ok('run', '--rm', '--name', 'evt', 'busybox', 'true');
    await waitFor(async () => seen.includes('destroy evt\n'));
    // The CLI is subscribed now: this one's events can only come live.
    await ok('run', '--rm', '--name', 'evt2', 'busybox', 'true');
    await waitFor(async () => seen.includes('destroy evt2\n'));
    live.kill();
    for (const name of ['evt', 'evt2']) {
      const actions = seen.trim().split('\n').filter((l) => l.endsWith(` ${name}`)).map((l) => l.split(' ')[0]);
      assert.deepEqual(actions, ['create', 'attach', 'start', 'die', 'destroy'], name);
    }
    const replay = await ok('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=evt', '--format', '{{.Action}}');
    assert.deepEqual(replay.split('\n'), ['create', 'attach', 'start', 'die', 'destroy']);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(100);
  }
}

/** Writes raw bytes to the engine socket and hangs up after a moment, as a crashed client would. */
function raw(socket: string, text: string): Promise<void> {
  return new Promise((resolve) => {
    const conn = connect(socket, () => {
      conn.write(text);
      setTimeout(() => {
        conn.destroy();
        resolve();
      }, 100);
    });
    conn.on('error', () => resolve());
  });
}
