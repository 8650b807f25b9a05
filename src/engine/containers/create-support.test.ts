import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import type { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import { containerCreateBody } from '../api/container-create-schema.ts';
import { childOf, goMetaOf, unwrap } from '../api/go-json.ts';
import { checkCreateSupport, createSupport } from './create-support.ts';
import { createSupportMarkdown } from './create-support-doc.ts';
import { applyHostOptions, checkSysctls, hostOptionsOf, withGroups } from './spec-options.ts';

/** The structs whose fields the table covers, by path prefix; EndpointsConfig is entered at its map value. */
function schemaFields(): string[] {
  const names = (schema: z.ZodType | undefined) => Object.keys((unwrap(schema!)._zod.def as { shape?: object }).shape ?? {});
  const host = childOf(containerCreateBody, 'HostConfig');
  const networking = childOf(containerCreateBody, 'NetworkingConfig');
  const endpoint = childOf(childOf(networking!, 'EndpointsConfig')!, '*');
  return [
    ...names(containerCreateBody),
    ...names(host).map((f) => `HostConfig.${f}`),
    ...names(networking).map((f) => `NetworkingConfig.${f}`),
    ...names(endpoint).map((f) => `NetworkingConfig.EndpointsConfig.*.${f}`),
  ];
}

/** A non-zero value of a field's Go type. */
function nonZero(schema: z.ZodType): unknown {
  const go = goMetaOf(schema)?.go ?? '';
  if (go === 'string') return 'x';
  if (go === 'bool') return true;
  if (/^u?int\d*$/.test(go)) return 1;
  if (go === '[]string') return ['x'];
  if (go.startsWith('map[')) return { x: 'y' };
  if (go.startsWith('[]')) return [{ Path: '/dev/null' }];
  throw new Error(`no sample for ${go}`);
}

/** A create body with `value` at a table path. */
function bodyWith(path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (!rest.length) return { Image: 'busybox', [head]: value };
  if (head === 'HostConfig') return { Image: 'busybox', HostConfig: { [rest[0]]: value } };
  return { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { net1: { [rest[2]]: value } } } };
}

function schemaAt(path: string): z.ZodType {
  return path.split('.').reduce<z.ZodType>((schema, key) => childOf(schema, key)!, containerCreateBody);
}

/** The 400 the engine answers for `body`: the schema's, else checkCreateSupport's; undefined when accepted. */
function refusalOf(body: unknown): string | undefined {
  const parsed = containerCreateBody.safeParse(body);
  if (!parsed.success) return parsed.error.issues.map((i) => i.message).join('; ');
  try {
    checkCreateSupport(parsed.data!);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof Fault && err.kind === 'invalid-argument', String(err));
    return err.message;
  }
}

describe('create support table', () => {
  test('every field of the create schema has an entry, and every entry is a schema field', () => {
    const fields = schemaFields();
    assert.deepEqual(fields.filter((f) => !(f in createSupport)), []);
    assert.deepEqual(Object.keys(createSupport).filter((f) => !fields.includes(f)), []);
  });

  for (const [path, support] of Object.entries(createSupport).filter(([, s]) => s.status === 'refused')) {
    test(`${path}: a non-zero value is refused naming it`, () => {
      const name = path.slice(path.lastIndexOf('.') + 1);
      const message = refusalOf(bodyWith(path, nonZero(schemaAt(path))));
      assert.ok(message, `${path} accepted`);
      assert.ok(message.includes(name) || message === support.message, message);
    });
  }

  test('the zero value of every field is accepted', () => {
    for (const path of Object.keys(createSupport)) assert.equal(refusalOf(bodyWith(path, null)), undefined, path);
  });

  const values: [string, unknown[], unknown[]][] = [
    ['HostConfig.PidMode', ['host', 'container:abc'], ['container:', 'private']],
    ['HostConfig.IpcMode', ['host', 'private', 'shareable', 'none', 'container:abc'], ['container:', 'x']],
    ['HostConfig.UTSMode', ['host'], ['container:abc']],
    ['HostConfig.UsernsMode', ['host'], ['private']],
    ['HostConfig.CgroupnsMode', ['host', 'private'], ['shared']],
    ['HostConfig.Runtime', ['runc'], ['foo']],
    ['HostConfig.Isolation', ['default'], ['hyperv']],
    ['HostConfig.OomKillDisable', [false], [true]],
    ['HostConfig.OomScoreAdj', [-1000, 500], [1001, -1001]],
    ['HostConfig.ShmSize', [1 << 20], [-1]],
    ['HostConfig.Sysctls', [{ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '10' }], [{ 'kernel.pid_max': '1' }, { 'vm.swappiness': '1' }]],
    ['HostConfig.Ulimits', [[{ Name: 'nofile', Soft: 1024, Hard: 2048 }]], [[{ Name: 'bogus', Soft: 1, Hard: 1 }], [{ Name: 'nofile', Soft: 2, Hard: 1 }]]],
    ['HostConfig.Devices', [[{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rwm' }]], [[{ PathOnHost: '/etc/passwd' }], [{ PathOnHost: '/dev/null', CgroupPermissions: 'rwx' }]]],
    ['HostConfig.DeviceCgroupRules', [['c 1:3 rwm', 'a *:* m']], [['x 1:3 rwm'], ['c 1:3']]],
  ];
  for (const [path, accepted, refusedValues] of values) {
    test(`${path}: checked values`, () => {
      for (const value of accepted) assert.equal(refusalOf(bodyWith(path, value)), undefined, JSON.stringify(value));
      for (const value of refusedValues) assert.ok(refusalOf(bodyWith(path, value)), `${JSON.stringify(value)} accepted`);
    });
  }

  test('a value refusal names the field and the value', () => {
    assert.equal(refusalOf(bodyWith('HostConfig.PidMode', 'vm')), 'PidMode "vm" (--pid) is not supported by this engine');
    assert.equal(refusalOf(bodyWith('HostConfig.CgroupnsMode', 'shared')), 'invalid cgroup namespace mode: shared');
    assert.equal(refusalOf(bodyWith('HostConfig.StorageOpt', { size: '1G' })), 'StorageOpt (--storage-opt) is not supported by this engine');
  });

  test('net.* sysctls are refused with the host network', () => {
    assert.match(checkSysctls({ 'net.ipv4.ip_forward': '1' }, 'host') ?? '', /not allowed in host network namespace/);
    assert.match(refusalOf({ Image: 'b', HostConfig: { NetworkMode: 'host', Sysctls: { 'net.core.somaxconn': '1' } } }) ?? '', /somaxconn/);
  });

  test('docs/engine-create-options.md is the table', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/engine-create-options.md'), 'utf8');
    assert.equal(doc, createSupportMarkdown(), 'run: node_modules/.bin/node scripts/engine-create-options-doc.ts');
  });
});

describe('host options in the OCI spec', () => {
  const base = () => ({
    hostname: 'c1',
    process: { rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }], oomScoreAdj: 0 },
    mounts: [{ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'size=67108864'] }],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0' },
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  });

  test('applies each option as moby does', () => {
    const options = hostOptionsOf({
      OomScoreAdj: 300,
      ShmSize: 1 << 20,
      Sysctls: { 'net.ipv4.ip_forward': '1' },
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'nproc', Soft: 10, Hard: 20 }],
      PidMode: 'host',
      UTSMode: 'host',
      MaskedPaths: [],
      Annotations: { a: 'b' },
      Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }],
      DeviceCgroupRules: ['c 42:* rmw'],
    });
    const spec = applyHostOptions(base(), options) as ReturnType<typeof base> & Record<string, unknown>;
    assert.equal(spec.process.oomScoreAdj, 300);
    assert.deepEqual(spec.process.rlimits, [
      { type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 },
      { type: 'RLIMIT_NPROC', hard: 20, soft: 10 },
    ]);
    assert.deepEqual(spec.linux.namespaces, [{ type: 'ipc' }, { type: 'mount' }]);
    assert.equal(spec.hostname, undefined);
    assert.deepEqual(spec.mounts[0].options, ['nosuid', 'size=1048576']);
    assert.equal((spec.linux.sysctl as Record<string, string>)['net.ipv4.ip_forward'], '1');
    assert.deepEqual(spec.linux.maskedPaths, []);
    assert.deepEqual(spec.linux.readonlyPaths, ['/proc/sys']);
    assert.deepEqual(spec.annotations, { a: 'b' });
    assert.deepEqual((spec.linux as Record<string, unknown>).devices, [{ path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    assert.deepEqual(spec.linux.resources.devices.slice(1), [
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      { allow: true, type: 'c', major: 42, access: 'rmw' },
    ]);
  });

  test('IpcMode host binds the host /dev/shm, none has none', () => {
    const host = applyHostOptions(base(), hostOptionsOf({ IpcMode: 'host' })) as ReturnType<typeof base>;
    assert.deepEqual(host.mounts, [{ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] }]);
    assert.deepEqual(host.linux.namespaces.map((n) => n.type), ['pid', 'uts', 'mount']);
    assert.deepEqual((applyHostOptions(base(), hostOptionsOf({ IpcMode: 'none' })) as ReturnType<typeof base>).mounts, []);
  });

  test('MemorySwappiness, per-device blkio and a private cgroup namespace become resources and a namespace', () => {
    const options = hostOptionsOf({
      MemorySwappiness: 10,
      CgroupnsMode: 'private',
      BlkioWeightDevice: [{ Path: '/dev/null', Weight: 300 }],
      BlkioDeviceReadBps: [{ Path: '/dev/zero', Rate: 1048576 }],
      BlkioDeviceWriteIOps: [{ Path: '/dev/null', Rate: 100 }],
    });
    const spec = applyHostOptions(base(), options) as ReturnType<typeof base> & { linux: { resources: Record<string, unknown> } };
    assert.deepEqual(spec.linux.resources.memory, { swappiness: 10 });
    assert.deepEqual(spec.linux.resources.blockIO, {
      weightDevice: [{ major: 1, minor: 3, weight: 300 }],
      throttleReadBpsDevice: [{ major: 1, minor: 5, rate: 1048576 }],
      throttleWriteIOPSDevice: [{ major: 1, minor: 3, rate: 100 }],
    });
    assert.deepEqual(spec.linux.namespaces.at(-1), { type: 'cgroup' });
    const plain = applyHostOptions(base(), hostOptionsOf({ MemorySwappiness: -1, CgroupnsMode: 'host' })) as ReturnType<typeof base> & { linux: { resources: Record<string, unknown> } };
    assert.equal(plain.linux.resources.memory, undefined, '-1 leaves the kernel\'s swappiness');
    assert.deepEqual(plain.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount']);
    assert.throws(() => hostOptionsOf({ BlkioDeviceReadBps: [{ Path: '/dev/no-such-disk', Rate: 1 }] }), /^Fault: stat \/dev\/no-such-disk: no such file or directory$/);
  });

  test('container:X namespaces are joined by path, and IPC binds the donor\'s /dev/shm', () => {
    const joined = { ipc: { path: '/proc/42/ns/ipc', shm: '/proc/42/root/dev/shm' }, pid: '/proc/42/ns/pid' };
    const spec = applyHostOptions(base(), hostOptionsOf({ IpcMode: 'container:db', PidMode: 'container:db' }, joined)) as ReturnType<typeof base>;
    assert.deepEqual(spec.linux.namespaces, [{ type: 'pid', path: '/proc/42/ns/pid' }, { type: 'ipc', path: '/proc/42/ns/ipc' }, { type: 'uts' }, { type: 'mount' }]);
    assert.deepEqual(spec.mounts, [{ destination: '/dev/shm', type: 'bind', source: '/proc/42/root/dev/shm', options: ['rbind', 'rprivate'] }]);
  });

  test('GroupAdd resolves names and gids against the image group file', () => {
    const user = { uid: 0, gid: 0, additionalGids: [10], home: '/root' };
    const groups = 'root:x:0:\naudio:x:29:\nstaff:x:50:\n';
    assert.deepEqual(withGroups(user, ['audio', '50', '4242'], groups).additionalGids, [10, 29, 50, 4242]);
    assert.throws(() => withGroups(user, ['nogroup'], groups), /Unable to find group nogroup/);
  });
});
