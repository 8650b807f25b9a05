import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageConfig } from '../images/image-config.ts';
import { adaptToHost, bindMounts, buildContainerSpec, parseSecurityOpt, recordMounts } from './container-spec.ts';
import { seccompProfile } from './seccomp.ts';

const image: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Entrypoint: null, WorkingDir: '/w', Labels: { x: '1' } },
  rootfs: { type: 'layers', diff_ids: [] },
};
const id = 'a'.repeat(64);

test('the image Cmd is used when the user gives neither Cmd nor Entrypoint', () => {
  const spec = buildContainerSpec({ Image: 'bb' }, image, { id });
  assert.equal(spec.path, 'sh');
  assert.deepEqual(spec.args, []);
  assert.equal(spec.config.WorkingDir, '/w');
  assert.equal(spec.config.Hostname, id.slice(0, 12));
});

test('an explicit entrypoint drops the image Cmd; env overrides by key; labels merge', () => {
  const spec = buildContainerSpec({ Image: 'bb', Entrypoint: ['/bin/echo'], Env: ['A=2', 'B=3'], Labels: { y: '2' } }, image, { id });
  assert.equal(spec.path, '/bin/echo');
  assert.deepEqual(spec.args, []);
  assert.deepEqual(spec.config.Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.deepEqual(spec.config.Labels, { x: '1', y: '2' });
});

test('bad host config is refused with moby wording', () => {
  assert.throws(
    () => buildContainerSpec({ Image: 'bb', HostConfig: { RestartPolicy: { Name: 'sometimes' as never, MaximumRetryCount: 0 } } }, image, { id }),
    /invalid restart policy: unknown policy 'sometimes'/,
  );
  assert.throws(() => buildContainerSpec({ Image: 'bb', HostConfig: { Memory: -1 } }, image, { id }), /invalid memory limit/);
  assert.throws(() => buildContainerSpec({ Image: 'bb', HostConfig: { Memory: 1024 } }, image, { id }), /Minimum memory limit allowed is 6MB/);
  assert.throws(
    () => buildContainerSpec({ Image: 'bb', HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }, image, { id }),
    /AutoRemove/,
  );
});

test('no command at all is an invalid request', () => {
  assert.throws(() => buildContainerSpec({ Image: 'bb' }, { ...image, config: {} }, { id }), /no command specified/);
});

test('limits the host cannot enforce are dropped with moby’s warnings; --cpus is refused', () => {
  const everything = { swapLimit: true, blkioWeight: true, cpuQuota: true, pidsLimit: true };
  const limited = { Image: 'bb', HostConfig: { Memory: 64 << 20, CpuQuota: 50_000, CpuPeriod: 100_000, PidsLimit: 8, BlkioWeight: 300 } };
  const full = buildContainerSpec(limited, image, { id }).hostConfig;
  assert.deepEqual(adaptToHost(full, everything), []);
  assert.equal(full.BlkioWeight, 300);
  const bare = buildContainerSpec(limited, image, { id }).hostConfig;
  assert.deepEqual(adaptToHost(bare, { swapLimit: false, blkioWeight: false, cpuQuota: false, pidsLimit: false }), [
    'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
    'Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.',
    'Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
    'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
  ]);
  assert.deepEqual([bare.MemorySwap, bare.CpuQuota, bare.CpuPeriod, bare.PidsLimit, bare.BlkioWeight], [-1, 0, 0, null, 0]);
  const cpus = buildContainerSpec({ Image: 'bb', HostConfig: { NanoCpus: 5e8 } }, image, { id }).hostConfig;
  assert.throws(() => adaptToHost(cpus, { ...everything, cpuQuota: false }), /NanoCPUs can not be set/);
});

test('--security-opt: seccomp=unconfined and no-new-privileges in both spellings; the rest is refused', () => {
  assert.deepEqual(parseSecurityOpt(null), { seccomp: 'default', noNewPrivileges: false });
  assert.deepEqual(parseSecurityOpt(['seccomp:unconfined', 'no-new-privileges']), { seccomp: 'unconfined', noNewPrivileges: true });
  assert.deepEqual(parseSecurityOpt(['no-new-privileges=true', 'no-new-privileges:false']).noNewPrivileges, false);
  assert.throws(() => parseSecurityOpt(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']), /not supported/);
  assert.throws(() => parseSecurityOpt(['no-new-privileges=maybe']), /must be a boolean/);
  assert.throws(() => parseSecurityOpt(['bogus']), /invalid --security-opt 1: "bogus"/);
  assert.throws(() => buildContainerSpec({ Image: 'bb', HostConfig: { SecurityOpt: ['label=disable'] } }, image, { id }), /not supported/);
});

test('the seccomp profile blocks what a held capability does not unlock', () => {
  const blocked = (caps: string[]) => (seccompProfile(caps).syscalls as { names: string[]; errnoRet: number }[]).filter((r) => r.errnoRet === 1).flatMap((r) => r.names);
  assert.ok(blocked([]).includes('mount') && blocked([]).includes('keyctl') && blocked([]).includes('clone'));
  assert.ok(!blocked(['CAP_SYS_ADMIN']).includes('mount') && !blocked(['CAP_SYS_ADMIN']).includes('clone'));
  assert.ok(blocked(['CAP_SYS_ADMIN']).includes('keyctl'), 'keyrings stay blocked');
  assert.ok(!blocked(['CAP_SYS_TIME']).includes('settimeofday'));
});

test('mounts reach the runtime parents first; a volume is its data directory, a tmpfs keeps its options', () => {
  const mounts = bindMounts([
    { Type: 'volume', Name: 'inner', Source: '/v/inner/_data', Destination: '/data/sub', Mode: '', RW: true, Propagation: '' },
    { Type: 'bind', Source: '/host', Destination: '/data', Mode: 'ro', RW: false, Propagation: 'rshared' },
    { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '', TmpfsOptions: ['nosuid'] },
  ]);
  assert.deepEqual(mounts, [
    { source: '/host', destination: '/data', readonly: true, propagation: 'rshared' },
    { source: '', destination: '/t', readonly: false, tmpfs: { options: ['nosuid'] } },
    { source: '/v/inner/_data', destination: '/data/sub', readonly: false },
  ]);
});

test('a record from before volumes has its binds parsed again from its HostConfig', () => {
  assert.deepEqual(recordMounts({ hostConfig: { Binds: ['/h:/c:ro'], Mounts: null } }), [
    { Type: 'bind', Source: '/h', Destination: '/c', Mode: 'ro', RW: false, Propagation: 'rprivate', CreateSource: true },
  ]);
});
