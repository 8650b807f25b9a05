import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { engineRequest } from '../support/engine-api.ts';
import { freePort, waitFor } from '../support/ports.ts';
import { waitGone } from '../support/processes.ts';
import { run, runOk } from '../support/run.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { removeTestNetworking, testNetworkEnv } from '../support/test-network.ts';
import { spawnWharfServe, type WharfLogLine, type WharfServeProcess, wharfBin } from '../support/wharf.ts';

const registryUp = async (url: string) => (await fetch(`${url}/v2/`)).status === 200;
const engineUp = async (socket: string) => (await engineRequest(socket, 'GET', '/_ping')).body === 'OK';

/** The supervisor's lines about one part's process. */
const about = (wharf: WharfServeProcess, part: string, msg: string): WharfLogLine[] =>
  wharf.logs().filter((line) => line.part === 'supervisor' && line.child === part && line.msg === msg);

/** Waits until a part is ready again in a new process, and returns that process's pid. */
async function waitForNewPid(wharf: WharfServeProcess, part: 'registry' | 'engine', old: number): Promise<number> {
  await waitFor(`${part} restarted`, async () => (wharf.partPid(part) ?? old) !== old, 20_000);
  return wharf.partPid(part) ?? 0;
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('wharf serve: a supervised process per part', () => {
  let dir: TempDir;
  let wharf: WharfServeProcess;

  before(async () => {
    dir = makeTempDir('wharf-supervisor-');
    wharf = await spawnWharfServe({ root: dir.path });
  });

  after(async () => {
    await wharf?.kill9();
    dir?.remove();
  });

  test('serves the registry and the engine, each from its own process', async () => {
    assert.ok(await registryUp(wharf.url));
    assert.ok(await engineUp(wharf.socket));
    const pids = [wharf.pid, wharf.partPid('registry'), wharf.partPid('engine')];
    assert.equal(new Set(pids).size, 3, `distinct processes: ${pids.join(', ')}`);
  });

  test('every log line is JSON naming the part that wrote it', () => {
    const lines = wharf.logs();
    assert.deepEqual(
      lines.filter((line) => !['supervisor', 'registry', 'engine'].includes(line.part ?? '')),
      [],
    );
    const engineLine = lines.find((line) => line.msg === 'engine listening');
    assert.equal(engineLine?.part, 'engine');
    assert.equal(engineLine?.pid, wharf.partPid('engine'));
    assert.equal(lines.find((line) => line.msg === 'registry listening')?.part, 'registry');
  });

  test('kill -9 of the engine: the registry answers throughout and the engine is back within seconds', async () => {
    const registryPid = wharf.partPid('registry');
    const enginePid = wharf.partPid('engine') ?? 0;
    process.kill(enginePid, 'SIGKILL');
    const killedAt = Date.now();
    let probes = 0;
    while (!(await engineUp(wharf.socket).catch(() => false))) {
      assert.ok(await registryUp(wharf.url), 'the registry answers /v2/ while the engine is down');
      probes++;
      assert.ok(Date.now() - killedAt < 20_000, 'the engine came back');
      await sleep(100);
    }
    assert.ok(probes > 0, 'the outage was observed');
    assert.notEqual(await waitForNewPid(wharf, 'engine', enginePid), enginePid);
    assert.equal(wharf.partPid('registry'), registryPid, 'the registry was not restarted');
    const exit = about(wharf, 'engine', 'part exited unexpectedly, restarting').at(-1);
    assert.equal(exit?.childPid, enginePid);
    assert.equal(exit?.signal, 'SIGKILL');
    assert.equal(exit?.restartInMs, 500);
  });

  test('kill -9 of the registry: it comes back on the same address and the engine keeps serving', async () => {
    const enginePid = wharf.partPid('engine');
    const registryPid = wharf.partPid('registry') ?? 0;
    process.kill(registryPid, 'SIGKILL');
    await waitForNewPid(wharf, 'registry', registryPid);
    assert.ok(await registryUp(wharf.url));
    assert.ok(await engineUp(wharf.socket));
    assert.equal(wharf.partPid('engine'), enginePid, 'the engine was not restarted');
  });

  test('a part that cannot start again is logged with its reason and retried with growing delays', async () => {
    const registryPid = wharf.partPid('registry') ?? 0;
    const port = Number(new URL(wharf.url).port);
    process.kill(registryPid, 'SIGKILL');
    assert.ok(await waitGone(registryPid, 5000));
    // Take the registry's port before its first restart (0.5 s later) can.
    const squatter = await listen(port);
    try {
      await waitFor('two failed restarts', async () => about(wharf, 'registry', 'part exited unexpectedly, restarting').length >= 4, 20_000);
      const failures = about(wharf, 'registry', 'part exited unexpectedly, restarting').slice(-2);
      for (const failure of failures) assert.match(String(failure.reason), /EADDRINUSE/);
      assert.ok(Number(failures[1].restartInMs) > Number(failures[0].restartInMs), 'the delay grows');
      assert.ok(await engineUp(wharf.socket), 'the engine keeps serving');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await waitForNewPid(wharf, 'registry', registryPid);
    assert.ok(await registryUp(wharf.url));
  });

  test('SIGTERM stops the engine, then the registry, and exits 0', async () => {
    const children = [wharf.partPid('engine') ?? 0, wharf.partPid('registry') ?? 0];
    await wharf.stop();
    assert.equal(await wharf.exited, 0);
    for (const pid of children) assert.ok(await waitGone(pid, 1000), `part process ${pid} is gone`);
    const exits = wharf.logs().filter((line) => line.part === 'supervisor' && line.msg === 'part exited');
    assert.deepEqual(
      exits.map((line) => [line.child, line.code]),
      [
        ['engine', 0],
        ['registry', 0],
      ],
    );
  });
});

describe('wharf serve: the supervisor and its parts live and die together', () => {
  test('kill -9 of the supervisor takes every part with it', async () => {
    const dir = makeTempDir('wharf-supervisor-');
    try {
      const wharf = await spawnWharfServe({ root: dir.path });
      const children = [wharf.partPid('registry') ?? 0, wharf.partPid('engine') ?? 0];
      await wharf.kill9();
      for (const pid of children) assert.ok(await waitGone(pid, 20_000), `part process ${pid} exited with its supervisor`);
    } finally {
      dir.remove();
    }
  });

  test('a part that fails at its first start fails `wharf serve` with its reason and stops the others', async () => {
    const dir = makeTempDir('wharf-supervisor-');
    const port = await freePort();
    const squatter = await listen(port);
    try {
      const args = ['serve', '--addr', `127.0.0.1:${port}`, '--socket', `${dir.path}/engine.sock`, '--root', dir.path];
      const result = await run(wharfBin, args, { timeoutMs: 60_000, env: { ...process.env, ...testNetworkEnv(dir.path) } });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /registry failed to start: .*EADDRINUSE/);
      const started = result.stdout
        .split('\n')
        .filter((text) => text.includes('"part started"'))
        .map((text) => (JSON.parse(text) as WharfLogLine).childPid as number);
      assert.equal(started.length, 2, result.stdout);
      for (const pid of started) assert.ok(await waitGone(pid, 1000), `part process ${pid} is gone`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      await removeTestNetworking(dir.path);
      dir.remove();
    }
  });

  test('without runc on PATH the engine is not started and the registry serves alone', async () => {
    const dir = makeTempDir('wharf-supervisor-');
    try {
      // bin/wharf itself needs only dirname and readlink from PATH.
      const bin = join(dir.path, 'bin');
      mkdirSync(bin);
      for (const tool of ['dirname', 'readlink']) symlinkSync((await runOk('sh', ['-c', `command -v ${tool}`])).trim(), join(bin, tool));
      const wharf = await spawnWharfServe({ root: join(dir.path, 'root'), env: { PATH: bin } });
      try {
        assert.ok(await registryUp(wharf.url));
        assert.equal(wharf.partPid('engine'), undefined);
        assert.ok(wharf.logs().some((line) => line.part === 'supervisor' && line.msg === 'engine not started: runc not found'));
        await assert.rejects(engineUp(wharf.socket));
        await wharf.stop();
        assert.equal(await wharf.exited, 0);
      } finally {
        await wharf.kill9();
      }
    } finally {
      dir.remove();
    }
  });
});
