import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliTerminal as Terminal } from '../support/cli-terminal.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

describe('interactive containers under a pty', () => {
  let engine: TestEngine;
  const terminals: Terminal[] = [];
  const open = (...args: ConstructorParameters<typeof Terminal>): Terminal => {
    const term = new Terminal(...args);
    terminals.push(term);
    return term;
  };

  before(async () => {
    engine = await startTestEngineWithBusybox(['-c', 'CMD ["sh"]']);
  });
  after(async () => {
    for (const term of terminals) term.kill();
    await engine?.close();
  });

  test('docker run -it echoes input and returns the shell’s exit code', async () => {
    const term = open(['run', '--rm', '-it', 'busybox', 'sh'], engine.env);
    await term.waitFor(/\/ # /);
    term.write('echo hello-$((6*7))\r');
    await term.waitFor(/hello-42/);
    assert.match(term.output, /echo hello-\$\(\(6\*7\)\)/, 'the typed command is echoed by the container tty');
    term.write('exit 3\r');
    assert.equal(await term.exit, 3);
  });

  test('the container tty starts at the client’s size and follows resizes', async () => {
    const term = open(['run', '--rm', '-it', '--name', 'sized', 'busybox', 'sh'], engine.env, { cols: 120, rows: 33 });
    await term.waitFor(/\/ # /);
    term.write('stty size\r');
    await term.waitFor(/33 120/);
    term.resize(90, 20);
    // The resize goes pty -> CLI (SIGWINCH) -> POST /resize -> the container's pty: asked again until it is there.
    for (let tries = 0; tries < 40 && !/20 90/.test(term.output); tries++) {
      term.write('stty size\r');
      await sleep(500);
    }
    await term.waitFor(/20 90/);
    term.write('exit\r');
    assert.equal(await term.exit, 0);
  });

  test('docker exec -it gets its own terminal in a running container', async () => {
    await engine.docker(['run', '-d', '--name', 'box', 'busybox', 'sleep', '60']);
    const term = open(['exec', '-it', 'box', 'sh'], engine.env, { cols: 111, rows: 22 });
    await term.waitFor(/\/ # /);
    term.write('tty; stty size\r');
    await term.waitFor(/\/dev\/pts\/\d+\r?\n22 111/);
    term.write('exit 4\r');
    assert.equal(await term.exit, 4);
    await engine.docker(['rm', '-f', 'box']);
  });

  test('a tty container’s logs are raw bytes and Config.Tty is true', async () => {
    const id = (await engine.docker(['run', '-dt', 'busybox', 'sh', '-c', 'echo tty-out'])).stdout.trim();
    assert.equal((await engine.docker(['wait', id])).stdout.trim(), '0');
    assert.equal((await engine.docker(['logs', id])).stdout, 'tty-out\r\n');
    assert.equal((await engine.docker(['inspect', '-f', '{{.Config.Tty}}', id])).stdout.trim(), 'true');
    await engine.docker(['rm', id]);
  });
});
