import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { capabilitiesInMask, defaultCapabilities, effectiveCapabilities, nofileLimit, ociResources, ociSpec, type BundleHost } from './bundle.ts';
import type { CgroupHost } from './cgroups.ts';
import type { ContainerRunSpec } from './runtime.ts';

const cgroups: CgroupHost = { version: 1, root: '/sys/fs/cgroup', swapAccounting: true, blkioWeight: true, cpuQuota: true, pids: true };
const allCaps = capabilitiesInMask('1ffffffffff');
const host: BundleHost = { cgroups, bounding: allCaps, nofile: 1048576 };
const limits = { memory: 0, memorySwap: 0, nanoCpus: 0, cpuShares: 0, cpuQuota: 0, cpuPeriod: 0, pidsLimit: null, blkioWeight: 0 };
const user = { uid: 0, gid: 0, additionalGids: [], home: '/root' };
const files = { hostname: '/b/hostname', hosts: '/b/hosts', resolvConf: '/b/resolv.conf' };

function spec(extra: Partial<ContainerRunSpec> = {}): ContainerRunSpec {
  return {
    id: 'abc',
    bundleDir: '/b',
    rootfs: [],
    args: ['sh'],
    env: ['PATH=/bin'],
    cwd: '',
    user: '',
    hostname: 'abc',
    domainname: '',
    terminal: false,
    openStdin: false,
    network: 'private',
    resources: limits,
    privileged: false,
    readonlyRootfs: false,
    capAdd: [],
    capDrop: [],
    ...extra,
  };
}

type Spec = {
  process: { capabilities: { effective: string[] }; env: string[]; cwd: string; rlimits: unknown[]; consoleSize?: unknown };
  hostname: string;
  linux: { namespaces: { type: string }[]; maskedPaths?: string[]; cgroupsPath: string; resources: Record<string, unknown>; devices?: unknown[]; sysctl?: unknown };
  mounts: { destination: string; options: string[] }[];
  root: { readonly: boolean };
};

describe('ociSpec', () => {
  test('a default container gets docker defaults: namespaces, 14 capabilities, masked paths, HOME, NOFILE', () => {
    const s = ociSpec(spec(), user, files, host) as unknown as Spec;
    assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'network']);
    assert.deepEqual(s.process.capabilities.effective, defaultCapabilities);
    assert.ok(s.linux.maskedPaths?.includes('/proc/kcore'));
    assert.deepEqual(s.process.env, ['PATH=/bin', 'HOME=/root']);
    assert.equal(s.process.cwd, '/');
    assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }]);
    assert.equal(s.linux.cgroupsPath, '/wharf/abc');
    assert.ok(s.linux.sysctl);
    const sys = s.mounts.find((m) => m.destination === '/sys');
    assert.ok(sys?.options.includes('ro'));
    assert.deepEqual(s.mounts.filter((m) => m.destination.startsWith('/etc/')).map((m) => m.destination), ['/etc/resolv.conf', '/etc/hostname', '/etc/hosts']);
  });

  test('host network keeps the host network namespace; privileged gets every capability and no masks', () => {
    const hostNet = ociSpec(spec({ network: 'host' }), user, files, host) as unknown as Spec;
    assert.ok(!hostNet.linux.namespaces.some((n) => n.type === 'network'));
    assert.equal(hostNet.linux.sysctl, undefined);
    const privileged = ociSpec(spec({ privileged: true }), user, files, host) as unknown as Spec;
    assert.equal(privileged.process.capabilities.effective.length, allCaps.length);
    assert.equal(privileged.linux.maskedPaths, undefined);
    assert.ok(Array.isArray(privileged.linux.devices));
    assert.ok(privileged.mounts.find((m) => m.destination === '/sys')?.options.includes('rw'));
  });

  test('terminal size, read-only rootfs and volumes are carried over', () => {
    const s = ociSpec(
      spec({ terminal: true, consoleSize: [30, 100], readonlyRootfs: true, mounts: [{ source: '/data', destination: '/d', readonly: true }] }),
      user,
      files,
      host,
    ) as unknown as Spec;
    assert.deepEqual(s.process.consoleSize, { height: 30, width: 100 });
    assert.equal(s.root.readonly, true);
    assert.deepEqual(s.mounts.at(-1), { destination: '/d', type: 'bind', source: '/data', options: ['rbind', 'rprivate', 'ro'] });
  });
});

describe('effectiveCapabilities', () => {
  test('drops and adds apply to the defaults, ALL works both ways, names are normalized', () => {
    const caps = (capAdd: string[], capDrop: string[]) => effectiveCapabilities({ privileged: false, capAdd, capDrop }, allCaps);
    assert.ok(!caps([], ['chown']).includes('CAP_CHOWN'));
    assert.ok(caps(['NET_ADMIN'], []).includes('CAP_NET_ADMIN'));
    assert.deepEqual(caps(['cap_kill'], ['ALL']), ['CAP_KILL']);
    assert.equal(caps(['ALL'], ['MKNOD']).length, allCaps.length - 1);
    // Never more than the engine holds.
    assert.ok(!effectiveCapabilities({ privileged: false, capAdd: ['SYS_ADMIN'], capDrop: [] }, defaultCapabilities).includes('CAP_SYS_ADMIN'));
  });

  test('a CapBnd mask decodes to names', () => {
    assert.deepEqual(capabilitiesInMask('3'), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE']);
    assert.ok(!capabilitiesInMask('1fffeffffff').includes('CAP_SYS_RESOURCE'));
  });
});

describe('ociResources', () => {
  test('memory gets docker\'s default swap, --cpus becomes quota/period, pids and blkio weight pass', () => {
    const r = ociResources({ ...limits, memory: 64 << 20, nanoCpus: 1.5e9, cpuShares: 512, pidsLimit: 10, blkioWeight: 300 }, { privileged: false, cgroups });
    assert.deepEqual(r.memory, { limit: 64 << 20, swap: 128 << 20 });
    assert.deepEqual(r.cpu, { shares: 512, period: 100000, quota: 150000 });
    assert.deepEqual(r.pids, { limit: 10 });
    assert.deepEqual(r.blockIO, { weight: 300 });
    assert.deepEqual((r.devices as unknown[])[0], { allow: false, access: 'rwm' });
  });

  test('what the host lacks is left out instead of failing the start', () => {
    const bare = { ...cgroups, swapAccounting: false, blkioWeight: false };
    const r = ociResources({ ...limits, memory: 64 << 20, memorySwap: 128 << 20, blkioWeight: 300 }, { privileged: false, cgroups: bare });
    assert.deepEqual(r.memory, { limit: 64 << 20 });
    assert.equal(r.blockIO, undefined);
    const unlimited = ociResources({ ...limits, memory: 64 << 20, memorySwap: -1, cpuQuota: 50000, cpuPeriod: 100000, pidsLimit: -1 }, { privileged: false, cgroups });
    assert.deepEqual(unlimited.memory, { limit: 64 << 20, swap: -1 });
    assert.deepEqual(unlimited.cpu, { quota: 50000, period: 100000 });
    assert.equal(unlimited.pids, undefined);
  });
});

test('the NOFILE limit is capped by the engine\'s own hard limit', () => {
  assert.equal(nofileLimit('Max open files            1024                 20000                files\n'), 20000);
  assert.equal(nofileLimit('Max open files            1024                 unlimited            files\n'), 1048576);
  assert.equal(nofileLimit(''), 1048576);
});

test('--init binds docker-init read-only at /sbin/docker-init and runs the command under it', () => {
  const s = ociSpec(spec({ init: '/usr/bin/tini-static', args: ['sleep', '1'] }), user, files, host) as unknown as { process: { args: string[] }; mounts: { destination: string; source: string; options: string[] }[] };
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sleep', '1']);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/sbin/docker-init'), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro'] });
  const plain = ociSpec(spec({ args: ['sleep', '1'] }), user, files, host) as unknown as { process: { args: string[] }; mounts: { destination: string }[] };
  assert.deepEqual(plain.process.args, ['sleep', '1']);
  assert.equal(plain.mounts.some((m) => m.destination === '/sbin/docker-init'), false);
});
