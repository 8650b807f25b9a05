/*
 * The Runtime conformance suite: `describeRuntime(name, make)`. The fixture supplies a fresh busybox rootfs per
 * container (as snapshot mounts) and a directory for bundles. Needs root, runc and overlayfs. Each case checks
 * that nothing is left behind: no runtime state, no mount.
 */
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { mountAll, mountPoints, unmount } from '../snapshots/mount.ts';
import type { Mount } from '../snapshots/snapshotter.ts';
import { writeBundle } from './bundle.ts';
import type { BundleHost } from './bundle.ts';
import { ProcessStartError, type ContainerProcess, type ContainerRunSpec, type Runtime } from './runtime.ts';

export interface RuntimeFixture {
  runtime: Runtime;
  /** What bundle.ts needs to know about the host (the runtime's view), for the low-level case. */
  host: BundleHost;
  /** A fresh writable busybox rootfs for container `id`. */
  rootfs(id: string): Promise<Mount[]>;
  releaseRootfs(id: string): Promise<void>;
  /** Where the suite puts bundles. */
  bundleRoot: string;
  cleanup(): Promise<void>;
}

const noLimits = { memory: 0, memorySwap: 0, nanoCpus: 0, cpuShares: 0, cpuQuota: 0, cpuPeriod: 0, pidsLimit: null, blkioWeight: 0 };

interface Collected {
  stdout: string;
  stderr: string;
}

function collect(process: ContainerProcess): Collected {
  const out: Collected = { stdout: '', stderr: '' };
  process.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  process.stderr?.on('data', (c: Buffer) => (out.stderr += c.toString()));
  return out;
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const start = Date.now(); !check(); await sleep(20)) if (Date.now() - start > ms) assert.fail(`timed out waiting for ${what}`);
}

export function describeRuntime(name: string, make: () => Promise<RuntimeFixture>): void {
  describe(`Runtime conformance: ${name}`, () => {
    let f: RuntimeFixture;
    let counter = 0;
    const used: string[] = [];

    before(async () => {
      f = await make();
    });

    after(async () => {
      await f.cleanup();
    });

    afterEach(async () => {
      const ids = used.splice(0);
      const left = (await f.runtime.list()).filter((s) => ids.includes(s.id));
      for (const id of ids) {
        await f.runtime.cleanup(id, join(f.bundleRoot, id));
        await f.releaseRootfs(id);
      }
      const mounts = (await mountPoints()).filter((p) => p.startsWith(f.bundleRoot));
      assert.deepEqual(left, [], 'runtime state was left behind');
      assert.deepEqual(mounts, [], 'a mount was left behind');
    });

    async function spec(args: string[], extra: Partial<ContainerRunSpec> = {}): Promise<ContainerRunSpec> {
      const id = `wharf-conformance-${process.pid}-${++counter}`;
      used.push(id);
      return {
        id,
        bundleDir: join(f.bundleRoot, id),
        rootfs: await f.rootfs(id),
        args,
        env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
        cwd: '/',
        user: '',
        hostname: 'box',
        domainname: '',
        terminal: false,
        openStdin: false,
        network: 'private',
        resources: noLimits,
        privileged: false,
        readonlyRootfs: false,
        capAdd: [],
        capDrop: [],
        ...extra,
      };
    }

    async function runToEnd(args: string[], extra: Partial<ContainerRunSpec> = {}) {
      const p = await f.runtime.run(await spec(args, extra));
      const output = collect(p);
      const exit = await p.exited;
      return { ...exit, ...output };
    }

    test('echo hi prints hi on stdout and exits 0, stderr apart', async () => {
      const r = await runToEnd(['sh', '-c', 'echo hi; echo oops >&2']);
      assert.deepEqual(r, { exitCode: 0, oomKilled: false, stdout: 'hi\n', stderr: 'oops\n' });
    });

    test('the exit status comes back exactly', async () => {
      assert.equal((await runToEnd(['sh', '-c', 'exit 3'])).exitCode, 3);
      assert.equal((await runToEnd(['false'])).exitCode, 1);
    });

    test('a missing command fails to start with 127 and leaves nothing', async () => {
      const s = await spec(['/no/such/command']);
      await assert.rejects(f.runtime.run(s), (err) => err instanceof ProcessStartError && err.exitCode === 127 && /no such file or directory|not found/.test(err.message));
      assert.equal(await f.runtime.state(s.id), undefined);
      const s2 = await spec(['nope']);
      await assert.rejects(f.runtime.run(s2), (err) => err instanceof ProcessStartError && err.exitCode === 127 && /executable file not found/.test(err.message));
    });

    test('SIGKILL gives 137 and SIGTERM 143', async () => {
      const p = await f.runtime.run(await spec(['sleep', '60']));
      await p.kill('KILL');
      assert.deepEqual(await p.exited, { exitCode: 137, oomKilled: false });
      const q = await f.runtime.run(await spec(['sh', '-c', 'trap "exit 143" TERM; while true; do sleep 0.05; done']));
      await sleep(100);
      await q.kill('SIGTERM');
      assert.equal((await q.exited).exitCode, 143);
    });

    test('a memory hog over its limit is OOM-killed and reported', async () => {
      const r = await runToEnd(['sh', '-c', 'x=aaaaaaaa; while true; do x=$x$x; done'], { resources: { ...noLimits, memory: 8 * 1024 * 1024 } });
      assert.equal(r.exitCode, 137);
      assert.equal(r.oomKilled, true);
    });

    test('update changes a running container\'s limits and stats reads its counters until it is gone', async () => {
      const s = await spec(['sh', '-c', 'while :; do :; done'], { resources: { ...noLimits, memory: 64 * 1024 * 1024 } });
      const p = await f.runtime.run(s);
      await f.runtime.update(s.id, { memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 }, pids: { limit: 20 } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stats = await f.runtime.stats(s.id);
      assert.ok(stats && stats.cpu_stats.cpu_usage.total_usage > 0, 'CPU time is counted');
      assert.equal(stats.memory_stats.limit, 32 * 1024 * 1024);
      assert.equal(stats.pids_stats.limit, 20);
      assert.ok((stats.pids_stats.current ?? 0) >= 1);
      await assert.rejects(f.runtime.update(s.id, { memory: { limit: 1, swap: 1 } }), (err: Error) => /memory/.test(err.message));
      await p.kill('KILL');
      await p.exited;
      assert.equal(await f.runtime.stats(s.id), undefined);
    });

    test('the pids limit bounds a fork bomb', async () => {
      const s = await spec(['sleep', '60'], { resources: { ...noLimits, pidsLimit: 10 } });
      const p = await f.runtime.run(s);
      const bomb = await f.runtime.exec(s.id, s.bundleDir, {
        execId: 'bomb',
        // The sleeps must not hold the exec's output pipes open, or the exec only ends with them.
        args: ['sh', '-c', 'for i in $(seq 1 40); do sleep 30 >/dev/null 2>&1 & done; wait'],
        env: ['PATH=/bin'],
        cwd: '/',
        user: '',
        terminal: false,
        openStdin: false,
        privileged: false,
      });
      const out = collect(bomb);
      await bomb.exited;
      assert.match(out.stderr, /can't fork|Resource temporarily unavailable/);
      assert.ok((await f.runtime.ps(s.id)).length <= 10);
      await p.kill('KILL');
      await p.exited;
    });

    test('stdin streams to the process and its end is EOF', async () => {
      const p = await f.runtime.run(await spec(['sh', '-c', 'cat; echo done'], { openStdin: true }));
      const out = collect(p);
      p.stdin?.write('one\n');
      await until(() => out.stdout === 'one\n', 'the echo of stdin');
      p.stdin?.end('two\n');
      assert.equal((await p.exited).exitCode, 0);
      assert.equal(out.stdout, 'one\ntwo\ndone\n');
    });

    test('a terminal echoes input, follows resize and returns the shell status', async () => {
      const p = await f.runtime.run(await spec(['sh'], { terminal: true, openStdin: true, consoleSize: [30, 100] }));
      const out = collect(p);
      assert.equal(p.stderr, undefined);
      p.stdin?.write('stty size; tty\n');
      await until(() => /30 100\r\n\/dev\/pts\/0/.test(out.stdout), 'the initial size and the tty name');
      p.resize(40, 120);
      // The size travels as SIGWINCH to runc, which resizes the console: ask until the answer changes.
      for (let i = 0; i < 50 && !out.stdout.includes('40 120'); i++) {
        p.stdin?.write('stty size\n');
        await sleep(100);
      }
      assert.match(out.stdout, /40 120/);
      p.stdin?.write('exit 5\n');
      assert.equal((await p.exited).exitCode, 5);
    });

    test('pause freezes and resume thaws; state and ps follow', async () => {
      const s = await spec(['sleep', '60']);
      const p = await f.runtime.run(s);
      const state = await f.runtime.state(s.id);
      assert.equal(state?.status, 'running');
      assert.equal(state?.pid, p.pid);
      assert.deepEqual(await f.runtime.ps(s.id), [p.pid]);
      await f.runtime.pause(s.id);
      assert.equal((await f.runtime.state(s.id))?.status, 'paused');
      await f.runtime.resume(s.id);
      assert.equal((await f.runtime.state(s.id))?.status, 'running');
      assert.ok((await f.runtime.list()).some((c) => c.id === s.id));
      await p.kill(9);
      await p.exited;
      assert.equal(await f.runtime.state(s.id), undefined);
    });

    test('a private or none network has only loopback, and it is up', async () => {
      for (const network of ['private', 'none'] as const) {
        const r = await runToEnd(['sh', '-c', 'ip -o link; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok'], { network });
        const links = r.stdout.trim().split('\n').filter((l) => /^\d+:/.test(l));
        assert.equal(links.length, 1, r.stdout);
        assert.match(links[0], /^1: lo: <LOOPBACK,UP/);
        assert.match(r.stdout, /ping-ok/);
      }
    });

    test('namespaces, hostname, etc files, capabilities and masked paths look like docker', async () => {
      const script = [
        'echo pid=$$',
        'echo host=$(hostname)',
        'grep CapEff /proc/self/status',
        'wc -c < /proc/kcore',
        'echo x > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable || echo sys-ro',
        'grep -c box /etc/hosts',
        'id -u; echo home=$HOME',
      ].join('; ');
      const r = await runToEnd(['sh', '-c', script]);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /^pid=1$/m);
      assert.match(r.stdout, /^host=box$/m);
      assert.match(r.stdout, /^CapEff:\s+00000000a80425fb$/m);
      assert.match(r.stdout, /^0$/m);
      assert.match(r.stdout, /^sys-ro$/m);
      assert.match(r.stdout, /^home=\/root$/m);
      const ro = await runToEnd(['sh', '-c', 'touch /x 2>/dev/null && echo rw || echo ro'], { readonlyRootfs: true });
      assert.equal(ro.stdout, 'ro\n');
      const dropped = await runToEnd(['sh', '-c', 'chown 1 /tmp && echo chowned || echo refused'], { capDrop: ['chown'] });
      assert.equal(dropped.stdout, 'refused\n');
      const user = await runToEnd(['id'], { user: 'nobody' });
      assert.match(user.stdout, /uid=65534\(nobody\) gid=65534/);
    });

    test('exec runs another process with its own status, user and terminal', async () => {
      const s = await spec(['sleep', '60']);
      const p = await f.runtime.run(s);
      const base = { env: ['PATH=/bin'], cwd: '/tmp', user: '', terminal: false, openStdin: false, privileged: false };
      const e = await f.runtime.exec(s.id, s.bundleDir, { ...base, execId: 'e1', args: ['sh', '-c', 'pwd; id -u; exit 4'], user: 'nobody' });
      const out = collect(e);
      assert.equal((await e.exited).exitCode, 4);
      assert.equal(out.stdout, '/tmp\n65534\n');
      await assert.rejects(f.runtime.exec(s.id, s.bundleDir, { ...base, execId: 'e2', args: ['nope'] }), (err) => err instanceof ProcessStartError && err.exitCode === 127);
      const t = await f.runtime.exec(s.id, s.bundleDir, { ...base, execId: 'e3', args: ['sh'], terminal: true, openStdin: true, consoleSize: [10, 50] });
      const tout = collect(t);
      t.stdin?.write('stty size; exit 7\n');
      assert.equal((await t.exited).exitCode, 7);
      assert.match(tout.stdout, /10 50/);
      await p.kill('KILL');
      await p.exited;
    });

    test('low level: create, start, kill, delete over a written bundle', async () => {
      const s = await spec(['sleep', '60']);
      await writeBundle(s, f.host);
      await mkdir(join(s.bundleDir, 'rootfs'), { recursive: true });
      await mountAll(s.rootfs, join(s.bundleDir, 'rootfs'));
      try {
        await f.runtime.create(s.id, { bundle: s.bundleDir });
        assert.equal((await f.runtime.state(s.id))?.status, 'created');
        await f.runtime.start(s.id);
        assert.equal((await f.runtime.state(s.id))?.status, 'running');
        await f.runtime.kill(s.id, 'KILL');
        for (let i = 0; i < 100 && (await f.runtime.state(s.id))?.status !== 'stopped'; i++) await sleep(20);
        assert.equal((await f.runtime.state(s.id))?.status, 'stopped');
        await f.runtime.delete(s.id);
        assert.equal(await f.runtime.state(s.id), undefined);
        await f.runtime.delete(s.id);
      } finally {
        await f.runtime.delete(s.id, { force: true });
        await unmount(join(s.bundleDir, 'rootfs'));
        await rm(s.bundleDir, { recursive: true, force: true });
      }
    });
  });
}
