import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { importBusybox } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { waitFor } from '../support/ports.ts';
import { dockerPy, ok, same as sameOn, type Side, sidesOf, withoutIds } from '../support/side-by-side.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

const seconds = () => (Date.now() / 1000).toFixed(3);

// Issue 11, lifecycle and exec: every scenario runs on wharf and on a private dockerd 20.10, and what the clients
// observe (exit codes, states, event sequences, exec output framing) must be the same.
describe('container lifecycle and exec as dockerd 20.10 behaves, through the CLI, dockerode and docker-py', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  let targets: Side[] = [];

  before(async () => {
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(), startDockerd()]);
    await importBusybox(dockerd, 'busybox');
    targets = sidesOf(engine, dockerd);
  });

  after(async () => {
    await engine?.close();
    await dockerd?.stop();
  });

  /** One after the other: timing-sensitive. */
  const same = <T>(scenario: (target: Side) => Promise<T>, expected?: T) => sameOn(targets, scenario, expected);

  const state = (target: Side, name: string) => ok(target, 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}} {{.State.OOMKilled}} {{.State.Error}}', name);

  test('kill leaves the container exited with 137 by the time kill returns', async () => {
    await same(async (t) => {
      await ok(t, 'run', '-d', '--name', 'kill1', 'busybox', 'sleep', '100');
      await ok(t, 'kill', 'kill1');
      const after = await state(t, 'kill1');
      const again = await t.docker(['kill', 'kill1']);
      await ok(t, 'rm', 'kill1');
      return { after, again: again.code, message: withoutIds(again.stderr) };
    }, { after: 'exited 137 false false', again: 1, message: 'Error response from daemon: Cannot kill container: kill1: Container ID is not running\n' });
  });

  test('a signal the process handles gives its own exit code; stop and restart end a sleeper with 137', async () => {
    await same(async (t) => {
      // TERM once the trap is set (PID 1 ignores a signal it has no handler for), not after a fixed time.
      await ok(t, 'run', '-d', '--name', 'sig1', 'busybox', 'sh', '-c', 'trap "exit 3" TERM; touch /tmp/trapped; while true; do sleep 0.1; done');
      await waitFor(`${t.name}: the trap to be set`, async () => (await t.docker(['exec', 'sig1', 'test', '-e', '/tmp/trapped'])).code === 0);
      await ok(t, 'kill', '-s', 'TERM', 'sig1');
      const trapped = await ok(t, 'wait', 'sig1');
      await ok(t, 'run', '-d', '--name', 'sig2', 'busybox', 'sleep', '100');
      await ok(t, 'stop', '-t', '1', 'sig2');
      const stopped = await state(t, 'sig2');
      await ok(t, 'restart', '-t', '1', 'sig2');
      const restarted = await ok(t, 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}', 'sig2');
      const badSignal = (await t.docker(['kill', '-s', 'FOO', 'sig2'])).stderr;
      await ok(t, 'rm', '-f', 'sig1', 'sig2');
      return { trapped, stopped, restarted, badSignal };
    }, { trapped: '3', stopped: 'exited 137 false false', restarted: 'running 0 0', badSignal: 'Error response from daemon: Invalid signal: FOO\n' });
  });

  test('the OOM killer and a command that cannot start leave moby\'s State (OOMKilled, ExitCode, Error)', async () => {
    await same(async (t) => {
      const oom = await t.docker(['run', '--name', 'oom1', '-m', '8m', '--memory-swap', '8m', 'busybox', 'sh', '-c', 'tail /dev/zero']);
      const oomState = await state(t, 'oom1');
      const missing = await t.docker(['run', '--name', 'nf1', 'busybox', 'nosuchcmd']);
      const [status, code, error] = (await ok(t, 'inspect', '-f', '{{.State.Status}}|{{.State.ExitCode}}|{{.State.Error}}', 'nf1')).split('|');
      await ok(t, 'rm', '-f', 'oom1', 'nf1');
      return { oom: oom.code, oomState, missing: missing.code, status, code, error: /exec: "nosuchcmd": executable file not found in \$PATH/.test(error) };
    }, { oom: 137, oomState: 'exited 137 false true', missing: 127, status: 'created', code: '127', error: true });
  });

  test('docker start -a streams the run and exits with its code', async () => {
    await same(async (t) => {
      await ok(t, 'create', '--name', 'sa1', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
      const started = await t.docker(['start', '-a', 'sa1']);
      await ok(t, 'rm', 'sa1');
      return { code: started.code, stdout: started.stdout, stderr: started.stderr };
    }, { code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  test('wait conditions through dockerode: not-running, next-exit and removed', async () => {
    await same(async (t) => {
      const client = new Docker({ socketPath: t.socketPath });
      const container = await client.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 4'] });
      const nextExit = container.wait({ condition: 'next-exit' });
      const removed = container.wait({ condition: 'removed' });
      await new Promise((r) => setTimeout(r, 300));
      const notRunning = await container.wait({ condition: 'not-running' });
      await container.start();
      const next = await nextExit;
      const afterExit = await container.wait();
      await container.remove();
      return { notRunning: notRunning.StatusCode, next: next.StatusCode, afterExit: afterExit.StatusCode, removed: (await removed).StatusCode };
    }, { notRunning: 0, next: 4, afterExit: 4, removed: 4 });
  });

  test('events come in dockerd order with exitCode and signal attributes', async () => {
    await same(async (t) => {
      const since = seconds();
      await t.docker(['run', '--name', 'ev1', 'busybox', 'sh', '-c', 'exit 3']);
      await ok(t, 'start', 'ev1');
      await ok(t, 'wait', 'ev1');
      await ok(t, 'rm', 'ev1');
      await ok(t, 'run', '-d', '--name', 'ev2', 'busybox', 'sleep', '100');
      await ok(t, 'kill', 'ev2');
      await ok(t, 'rm', 'ev2');
      await ok(t, 'run', '-d', '--name', 'ev3', 'busybox', 'sleep', '100');
      await ok(t, 'stop', '-t', '1', 'ev3');
      await ok(t, 'rm', 'ev3');
      await new Promise((r) => setTimeout(r, 300));
      const listed = await ok(
        t,
        ...['events', '--since', since, '--until', seconds(), '--filter', 'type=container'],
        ...['--format', '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}{{.Actor.Attributes.signal}}'],
      );
      return listed.split('\n').map((line) => line.replaceAll('<no value>', '').trim());
    }, [
      ...['create ev1', 'attach ev1', 'start ev1', 'die ev1 3', 'start ev1', 'die ev1 3', 'destroy ev1'],
      ...['create ev2', 'start ev2', 'kill ev2 9', 'die ev2 137', 'destroy ev2'],
      ...['create ev3', 'start ev3', 'kill ev3 15', 'kill ev3 9', 'die ev3 137', 'stop ev3', 'destroy ev3'],
    ]);
  });

  test('exec exit codes: a missing or unexecutable command is 126 for the CLI, exec_inspect and docker-py', async () => {
    await same(async (t) => {
      await ok(t, 'run', '-d', '--name', 'ex1', 'busybox', 'sleep', '100');
      const cli = [];
      for (const cmd of [['nosuchcmd'], ['/etc/passwd'], ['sh', '-c', 'exit 5']]) {
        const result = await t.docker(['exec', 'ex1', ...cmd]);
        // moby writes the start error into the exec's stdout stream, which the CLI prints as it is.
        cli.push({ code: result.code, stdout: result.stdout.replace(/^(OCI runtime exec failed: exec failed: ).*(exec: "[^"]*": [^:]*).*$/s, '$1$2') });
      }
      const py = await dockerPy(
        t,
        `c = client.containers.get('ex1')
r = c.exec_run(['nosuchcmd'])
print(json.dumps({'exitCode': r.exit_code, 'output': b'executable file not found' in r.output}))
e = api.exec_create('ex1', ['sh', '-c', 'echo to-socket; exit 7'])
sock = api.exec_start(e['Id'], socket=True)
raw = sock._sock if hasattr(sock, '_sock') else sock
data = b''
while True:
    chunk = raw.recv(4096)
    if not chunk: break
    data += chunk
print(json.dumps({'socketExit': api.exec_inspect(e['Id'])['ExitCode'], 'framed': data[:1] == b'\\x01', 'text': b'to-socket' in data}))
`,
      );
      await ok(t, 'rm', '-f', 'ex1');
      return { cli, py: py.split('\n').map((line) => JSON.parse(line)) };
    }, {
      cli: [
        { code: 126, stdout: 'OCI runtime exec failed: exec failed: exec: "nosuchcmd": executable file not found in $PATH' },
        { code: 126, stdout: 'OCI runtime exec failed: exec failed: exec: "/etc/passwd": permission denied' },
        { code: 5, stdout: '' },
      ],
      py: [{ exitCode: 126, output: true }, { socketExit: 7, framed: true, text: true }],
    });
  });

  test("exec output is framed by the start request's Tty, not the create's (docker-py demux)", async () => {
    await same(async (t) => {
      await ok(t, 'run', '-d', '--name', 'ex2', 'busybox', 'sleep', '100');
      const out = await dockerPy(
        t,
        `e = api.exec_create('ex2', ['echo', 'hi'], tty=True)
print(json.dumps([x.decode() if x else None for x in api.exec_start(e['Id'], tty=False, demux=True)]))
print(json.dumps(api.exec_inspect(e['Id'])['ExitCode']))
e = api.exec_create('ex2', ['echo', 'hi'], tty=False)
print(json.dumps(api.exec_start(e['Id'], tty=True).decode()))
`,
      );
      await ok(t, 'rm', '-f', 'ex2');
      // What is asserted is the framing; wharf's TTY exec rarely doubles the \r of the terminal's \r\n (a pty race
      // in the runtime, reported apart), which must not make this test flaky.
      return out.split('\n').map((line) => JSON.parse(line.replace(/(\\r)+\\n/g, '\\r\\n')));
    }, [['hi\r\n', null], 0, 'hi\n']);
  });

  test('exec events: exec_create and exec_start name the command; exec_die only for a process that ran', async () => {
    await same(async (t) => {
      await ok(t, 'run', '-d', '--name', 'ex3', 'busybox', 'sleep', '100');
      const since = seconds();
      await t.docker(['exec', 'ex3', 'nosuchcmd']);
      await ok(t, 'exec', 'ex3', 'true');
      await new Promise((r) => setTimeout(r, 300));
      const listed = await ok(t, 'events', '--since', since, '--until', seconds(), '--filter', 'container=ex3', '--format', '{{.Action}}|{{.Actor.Attributes.exitCode}}|{{if .Actor.Attributes.execID}}id{{end}}');
      await ok(t, 'rm', '-f', 'ex3');
      return listed.split('\n').map((line) => line.replaceAll('<no value>', ''));
    }, ['exec_create: nosuchcmd ||id', 'exec_start: nosuchcmd ||id', 'exec_create: true ||id', 'exec_start: true ||id', 'exec_die|0|id']);
  });

  test('commit right after a short-lived container exits', async () => {
    await same(async (t) => {
      const codes = [];
      for (let i = 0; i < 3; i++) {
        await ok(t, 'run', '-d', '--name', `cm${i}`, 'busybox', 'touch', `/made-${i}`);
        const committed = await t.docker(['commit', `cm${i}`, `committed:${i}`]);
        codes.push(committed.code === 0 ? 'ok' : committed.stderr);
      }
      const made = await ok(t, 'run', '--rm', 'committed:2', 'ls', '/made-2');
      await ok(t, 'rm', '-f', 'cm0', 'cm1', 'cm2');
      await ok(t, 'rmi', 'committed:0', 'committed:1', 'committed:2');
      return { codes, made };
    }, { codes: ['ok', 'ok', 'ok'], made: '/made-2' });
  });
});
