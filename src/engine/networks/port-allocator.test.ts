import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { ephemeralPortRange, PortAllocator } from './port-allocator.ts';
import type { PortRequest } from './port-bindings.ts';

const lo = '127.0.0.1';

/** A port nobody listens on right now (the kernel picks it); tcp and udp alike on this quiet test host. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, lo, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function listen(port: number, host = lo): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Whether the host port is free again for anyone (tcp, on 127.0.0.1). */
async function canBind(port: number): Promise<boolean> {
  try {
    await close(await listen(port));
    return true;
  } catch {
    return false;
  }
}

/**
 * The first port of `length` consecutive ones that are free now, below the kernel's ephemeral range (32768-60999
 * here) so that the outgoing connections of a busy host cannot take them in the middle of a test.
 */
async function freeSpan(length = 10): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + Math.floor(Math.random() * 22000);
    const free = await Promise.all(Array.from({ length }, (_, i) => canBind(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${length} consecutive free ports found`);
}

function tcp(hostPortRange: [number, number] | undefined, containerPort = 80, hostIp = lo): PortRequest {
  return { protocol: 'tcp', hostIp, hostPortRange, containerPort };
}

function faultWith(kind: string, message: string) {
  return (err: unknown) => isFault(err) && err.kind === kind && err.message === message;
}

describe('PortAllocator', () => {
  test('holds a fixed port with a real socket until released', async () => {
    const ports = new PortAllocator();
    const port = await freePort();
    const mappings = await ports.reserve('c1', [tcp([port, port])]);
    assert.deepEqual(mappings, [{ protocol: 'tcp', hostIp: lo, hostPort: port, containerPort: 80 }]);
    assert.equal(await canBind(port), false);
    assert.deepEqual(ports.owned('c1'), mappings);
    await ports.release('c1');
    assert.equal(await canBind(port), true);
    assert.deepEqual(ports.owned('c1'), []);
    await ports.release('c1');
  });

  test('a port another container holds gets moby "port is already allocated", naming the holder address', async () => {
    const ports = new PortAllocator();
    const port = await freePort();
    await ports.reserve('c1', [tcp([port, port])]);
    await assert.rejects(ports.reserve('c2', [tcp([port, port])]), faultWith('conflict', `Bind for 127.0.0.1:${port} failed: port is already allocated`));
    await assert.rejects(ports.reserve('c2', [tcp([port, port], 80, '')]), faultWith('conflict', `Bind for 127.0.0.1:${port} failed: port is already allocated`));
    // Another protocol on the same number is another port.
    const udp = await ports.reserve('c2', [{ protocol: 'udp', hostIp: lo, hostPortRange: [port, port], containerPort: 53 }]);
    assert.equal(udp[0].hostPort, port);
    await ports.release('c1');
    await ports.release('c2');
  });

  test('a port a host process holds gets moby 28 "failed to bind host port" text', async () => {
    const ports = new PortAllocator();
    const port = await freePort();
    const squatter = await listen(port);
    try {
      await assert.rejects(
        ports.reserve('c1', [tcp([port, port])], { containerIp: '172.17.0.2' }),
        faultWith('conflict', `failed to bind host port for 127.0.0.1:${port}:172.17.0.2:80/tcp: address already in use`),
      );
      const udpSquatter = createSocket('udp4');
      await new Promise<void>((resolve) => udpSquatter.bind(port, lo, resolve));
      await assert.rejects(
        ports.reserve('c1', [{ protocol: 'udp', hostIp: '', hostPortRange: [port, port], containerPort: 53 }]),
        faultWith('conflict', `failed to bind host port for 0.0.0.0:${port}:53/udp: address already in use`),
      );
      udpSquatter.close();
    } finally {
      await close(squatter);
    }
    assert.deepEqual(ports.owned('c1'), []);
  });

  test('all or nothing: when one request fails, the ports this call took are free again', async () => {
    const ports = new PortAllocator();
    const [a, b] = [await freePort(), await freePort()];
    const squatter = await listen(b);
    try {
      await assert.rejects(ports.reserve('c1', [tcp([a, a]), tcp([b, b], 81)]), (err) => isFault(err, 'conflict'));
      assert.equal(await canBind(a), true);
      assert.deepEqual(ports.owned('c1'), []);
    } finally {
      await close(squatter);
    }
  });

  test('a range gives the first free port, skipping ones held by wharf or by the host', async () => {
    const ports = new PortAllocator();
    const base = await freeSpan();
    const squatter = await listen(base + 1);
    try {
      const [first] = await ports.reserve('c1', [tcp([base + 1, base + 1], 80, '')]).catch(() => [undefined]);
      assert.equal(first, undefined, 'the squatted port cannot be held');
      const got = await ports.reserve('c1', [tcp([base, base + 5]), tcp([base, base + 5], 81)]);
      assert.deepEqual(
        got.map((m) => m.hostPort),
        [base, base + 2],
      );
      const [third] = await ports.reserve('c2', [tcp([base, base + 5])]);
      assert.equal(third.hostPort, base + 3);
    } finally {
      await close(squatter);
      await ports.release('c1');
      await ports.release('c2');
    }
  });

  test('ephemeral ports come serially from the range and a released one is not reused at once', async () => {
    const base = await freeSpan();
    const ports = new PortAllocator({ ephemeralRange: [base, base + 3] });
    const [one] = await ports.reserve('c1', [tcp(undefined)]);
    const [two] = await ports.reserve('c2', [tcp(undefined)]);
    assert.deepEqual([one.hostPort, two.hostPort], [base, base + 1]);
    await ports.release('c1');
    const [three] = await ports.reserve('c3', [tcp(undefined)]);
    assert.equal(three.hostPort, base + 2);
    await Promise.all(['c2', 'c3'].map((o) => ports.release(o)));
  });

  test('fixed ports are taken before ranges so a range does not steal them; results keep request order', async () => {
    const base = await freeSpan();
    const ports = new PortAllocator({ ephemeralRange: [base, base + 9] });
    const got = await ports.reserve('c1', [tcp(undefined, 1), tcp([base, base + 1], 2), tcp([base, base], 3)]);
    assert.deepEqual(
      got.map((m) => [m.containerPort, m.hostPort]),
      [
        [1, base + 2],
        [2, base + 1],
        [3, base],
      ],
    );
    await ports.release('c1');
  });

  test('an exhausted range says so and leaves nothing', async () => {
    const base = await freeSpan();
    const ports = new PortAllocator({ ephemeralRange: [base, base + 1] });
    await ports.reserve('c1', [tcp(undefined), tcp(undefined, 81)]);
    await assert.rejects(ports.reserve('c2', [tcp([base + 5, base + 5]), tcp(undefined)]), faultWith('unavailable', 'all ports are allocated'));
    assert.deepEqual(ports.owned('c2'), []);
    assert.equal(await canBind(base + 5), true);
    await ports.release('c1');
  });

  test('an address the host does not have is refused with the errno text', async () => {
    const ports = new PortAllocator();
    const port = await freePort();
    await assert.rejects(ports.reserve('c1', [tcp([port, port], 80, '192.0.2.77')], { containerIp: '10.0.0.2' }), faultWith('invalid-argument', `failed to bind host port for 192.0.2.77:${port}:10.0.0.2:80/tcp: cannot assign requested address`));
  });

  test('held sockets do not keep the process alive', async () => {
    const script = `
      import { PortAllocator } from ${JSON.stringify(new URL('./port-allocator.ts', import.meta.url).href)};
      const ports = new PortAllocator({ ephemeralRange: [45000, 45999] });
      await ports.reserve('c', [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPortRange: undefined, containerPort: 80 }, { protocol: 'udp', hostIp: '127.0.0.1', hostPortRange: undefined, containerPort: 53 }]);
      console.log('held');`;
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    assert.equal(out.trim(), 'held');
  });

  test('never gives one port to two holders, and release makes every port usable again', async () => {
    const base = await freeSpan();
    const request = fc.record({
      owner: fc.constantFrom('a', 'b', 'c'),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      hostIp: fc.constantFrom('', lo),
      span: fc.oneof(fc.constant(undefined), fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }))),
    });
    const op = fc.oneof(fc.record({ release: fc.constantFrom('a', 'b', 'c') }), fc.record({ reserve: fc.array(request, { minLength: 1, maxLength: 3 }) }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const ports = new PortAllocator({ ephemeralRange: [base, base + 7] });
        for (const o of ops) {
          if ('release' in o) {
            await ports.release(o.release);
            continue;
          }
          const owner = o.reserve[0].owner;
          const before = ports.owned(owner).length;
          const requests = o.reserve.map((r) => ({
            protocol: r.protocol,
            hostIp: r.hostIp,
            containerPort: 80,
            hostPortRange: r.span ? ([base + r.span[0], base + r.span[0] + r.span[1]] as [number, number]) : undefined,
          }));
          const got = await ports.reserve(owner, requests).catch((err) => {
            assert.ok(isFault(err), String(err));
            return undefined;
          });
          assert.equal(ports.owned(owner).length, before + (got?.length ?? 0));
          const all = ['a', 'b', 'c'].flatMap((w) => ports.owned(w));
          for (const m of all) {
            const clashes = all.filter((n) => n.protocol === m.protocol && n.hostPort === m.hostPort && (n.hostIp === '' || m.hostIp === '' || n.hostIp === m.hostIp));
            assert.equal(clashes.length, 1, JSON.stringify(all));
          }
        }
        await Promise.all(['a', 'b', 'c'].map((w) => ports.release(w)));
        for (let p = base; p <= base + 7; p++) assert.equal(await canBind(p), true, `port ${p} free again`);
      }),
      { numRuns: 40 },
    );
  });
});

describe('ephemeralPortRange', () => {
  test('reads the kernel range, and falls back to moby default without one', async () => {
    const [first, last] = await ephemeralPortRange();
    assert.ok(first >= 1 && first <= last && last <= 65535);
    const dir = await mkdtemp(join(tmpdir(), 'wharf-ports-'));
    try {
      await writeFile(join(dir, 'range'), '32768\t60999\n');
      assert.deepEqual(await ephemeralPortRange(join(dir, 'range')), [32768, 60999]);
      await writeFile(join(dir, 'bad'), 'x');
      assert.deepEqual(await ephemeralPortRange(join(dir, 'bad')), [49153, 65535]);
      assert.deepEqual(await ephemeralPortRange(join(dir, 'missing')), [49153, 65535]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
