import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Fault } from '../../base/fault.ts';
import { canonicalIp, hostsFile, parseExtraHost, readRootfsFile, resolvConf, resolveUser, writeEtcFiles } from './bundle-files.ts';

const files: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n1000:x:1001:1001::/home/odd:/bin/sh\n',
  'etc/group': 'root:x:0:\nwww:x:33:\nstaff:x:50:www\nadm:x:4:www,root\n',
};
const read = async (path: string) => files[path];

describe('resolveUser', () => {
  test('names, uids and groups resolve like docker, with supplementary groups and HOME', async () => {
    assert.deepEqual(await resolveUser(read, ''), { uid: 0, gid: 0, additionalGids: [4], home: '/root' });
    assert.deepEqual(await resolveUser(read, 'www'), { uid: 33, gid: 33, additionalGids: [50, 4], home: '/var/www' });
    assert.deepEqual(await resolveUser(read, '33:staff'), { uid: 33, gid: 50, additionalGids: [4], home: '/var/www' });
    assert.deepEqual(await resolveUser(read, '4242:4243'), { uid: 4242, gid: 4243, additionalGids: [], home: '/' });
    // A name that looks like a number matches by name first.
    assert.equal((await resolveUser(read, '1000')).uid, 1001);
  });

  test('unknown names are refused with moby\'s words', async () => {
    await assert.rejects(resolveUser(read, 'ghost'), /unable to find user ghost: no matching entries in passwd file/);
    await assert.rejects(resolveUser(read, 'www:ghosts'), /unable to find group ghosts/);
  });
});

test('a rootfs file is read from the upper dir first, and a whiteout hides the lower one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-rootfs-'));
  try {
    for (const d of ['upper/etc', 'lower1/etc', 'lower2/etc']) await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'lower2/etc/passwd'), 'low');
    await writeFile(join(dir, 'lower1/etc/group'), 'mid');
    await writeFile(join(dir, 'upper/etc/group'), 'top');
    const mounts = [{ type: 'overlay', source: 'overlay', options: [`upperdir=${dir}/upper`, `lowerdir=${dir}/lower1:${dir}/lower2`] }];
    assert.equal(await readRootfsFile(mounts, 'etc/passwd'), 'low');
    assert.equal(await readRootfsFile(mounts, 'etc/group'), 'top');
    assert.equal(await readRootfsFile(mounts, 'etc/shadow'), undefined);
    assert.equal(await readRootfsFile([{ type: 'bind', source: join(dir, 'lower1'), options: [] }], 'etc/group'), 'mid');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// moby 28's default block (libnetwork/etchosts: netip prints fe00:: and ff00:: without a trailing 0).
const defaultHosts = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::\tip6-localnet
ff00::\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

describe('hostsFile', () => {
  test('the default bridge: the default block, then the container\'s address and hostname', () => {
    assert.equal(hostsFile({ hostname: '3f1b2c4d5e6f', network: 'private', addresses: ['172.17.0.2'] }), `${defaultHosts}172.17.0.2\t3f1b2c4d5e6f\n`);
  });

  test('a domainname or a dotted hostname gives the FQDN then the bare name; one line per address', () => {
    assert.equal(
      hostsFile({ hostname: 'web', domainname: 'example.com', network: 'private', addresses: ['172.18.0.5', '10.1.0.3'] }),
      `${defaultHosts}172.18.0.5\tweb.example.com web\n10.1.0.3\tweb.example.com web\n`,
    );
    assert.equal(hostsFile({ hostname: 'a.b.c', network: 'private', addresses: ['172.17.0.9'] }), `${defaultHosts}172.17.0.9\ta.b.c a\n`);
  });

  test('--add-host lines (host-gateway resolved), then --link lines, then the container\'s own', () => {
    const text = hostsFile({
      hostname: 'box',
      network: 'private',
      addresses: ['172.17.0.4'],
      extraHosts: ['db:10.0.0.7', 'host.docker.internal:host-gateway', 'v6:2001:DB8:0::1'],
      hostGateway: '172.17.0.1',
      links: [{ ip: '172.17.0.3', names: 'cache 0123456789ab redis' }],
    });
    assert.equal(
      text,
      `${defaultHosts}10.0.0.7\tdb\n172.17.0.1\thost.docker.internal\n2001:db8::1\tv6\n172.17.0.3\tcache 0123456789ab redis\n172.17.0.4\tbox\n`,
    );
  });

  test('none has no address line; without IPv6 on loopback every IPv6 line goes', () => {
    assert.equal(hostsFile({ hostname: 'box', network: 'none' }), defaultHosts);
    assert.equal(
      hostsFile({ hostname: 'box', network: 'private', addresses: ['172.17.0.2'], extraHosts: ['a:::1', 'b:1.2.3.4'], loopbackIPv6: false }),
      '127.0.0.1\tlocalhost\n1.2.3.4\tb\n172.17.0.2\tbox\n',
    );
  });

  test('host networking copies the host\'s file, unless --add-host asks for entries of its own', () => {
    const hostHosts = '127.0.0.1\tlocalhost\n192.168.1.10\tmachine\n';
    assert.equal(hostsFile({ hostname: 'machine', network: 'host', hostHosts }), hostHosts);
    assert.equal(hostsFile({ hostname: 'machine', network: 'host', hostHosts, extraHosts: ['x:10.9.9.9'] }), `${defaultHosts}10.9.9.9\tx\n`);
  });

  test('host-gateway without a gateway to give is refused as moby does', () => {
    assert.throws(() => hostsFile({ hostname: 'b', network: 'private', extraHosts: ['h:host-gateway'] }), {
      message: 'unable to derive the IP value for host-gateway',
    });
  });
});

describe('parseExtraHost', () => {
  test('name:ip split at the first colon; the address printed as Go does', () => {
    assert.deepEqual(parseExtraHost('db:10.0.0.7'), { name: 'db', ip: '10.0.0.7' });
    assert.deepEqual(parseExtraHost('v6:FE80:0:0::1'), { name: 'v6', ip: 'fe80::1' });
    assert.deepEqual(parseExtraHost('gw:host-gateway'), { name: 'gw', ip: 'host-gateway' });
  });

  test('bad entries get moby\'s words', () => {
    const invalid = (message: string) => (e: unknown) => e instanceof Fault && e.kind === 'invalid-argument' && e.message === message;
    assert.throws(() => parseExtraHost('db'), invalid('bad format for add-host: "db"'));
    assert.throws(() => parseExtraHost(':1.2.3.4'), invalid('bad format for add-host: ":1.2.3.4"'));
    assert.throws(() => parseExtraHost('db:x'), invalid('invalid IP address in add-host: "x"'));
    assert.throws(() => parseExtraHost('db:300.1.1.1'), invalid('invalid IP address in add-host: "300.1.1.1"'));
    assert.throws(() => parseExtraHost('db:fe80::1%eth0'), invalid('invalid IP address in add-host: "fe80::1%eth0"'));
  });
});

test('canonicalIp prints addresses as Go\'s netip does', () => {
  assert.equal(canonicalIp('10.1.2.3'), '10.1.2.3');
  assert.equal(canonicalIp('fe00::0'), 'fe00::');
  assert.equal(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(canonicalIp('::FFFF:1.2.3.4'), '::ffff:1.2.3.4');
  assert.equal(canonicalIp('fe80::1%eth0'), 'fe80::1%eth0');
  assert.equal(canonicalIp('01.2.3.4'), undefined);
  assert.equal(canonicalIp('nope'), undefined);
});

// Expected files: moby's golden files (libnetwork/internal/resolvconf/testdata, v28.0.0) after the header
// Sandbox.loadResolvConf sets on every container's file.
const header = `# Generated by Docker Engine.
# This file can be edited; Docker Engine will not make further changes once it
# has been modified.

`;

describe('resolvConf', () => {
  test('default bridge: loopback resolvers dropped, IPv6 ones only on an IPv6 network (TransformForLegacyNw goldens)', () => {
    assert.equal(resolvConf('nameserver 10.0.0.1', { network: 'private' }).text, `${header}nameserver 10.0.0.1\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Overrides: []\n`);
    assert.equal(
      resolvConf('nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1', { network: 'private', networkIPv6: true }).text,
      `${header}nameserver 10.0.0.1\nnameserver fdb6:b8fe:b528::1\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Overrides: []\n`,
    );
    assert.equal(
      resolvConf('nameserver 127.0.0.53\nnameserver ::1', { network: 'none' }).text,
      `${header}nameserver 8.8.8.8\nnameserver 8.8.4.4\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Used default nameservers.\n# Overrides: []\n`,
    );
    assert.equal(
      resolvConf('nameserver 127.0.0.53', { network: 'private', networkIPv6: true }).text,
      `${header}nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Used default nameservers.\n# Overrides: []\n`,
    );
  });

  test('--dns, --dns-search and --dns-option each replace the host\'s own (Override nameservers / TestRCModify goldens)', () => {
    const host = 'nameserver 1.2.3.4\nsearch invalid\noptions ndots:0\n';
    assert.equal(
      resolvConf(host, { network: 'private', dns: ['2.3.4.5', 'FDBA:ACDD:587C::53'], dnsSearch: ['com', 'invalid', 'example'], dnsOptions: ['ndots:1', 'edns0', 'trust-ad'] }).text,
      `${header}nameserver 2.3.4.5\nnameserver fdba:acdd:587c::53\nsearch com invalid example\noptions ndots:1 edns0 trust-ad\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Overrides: [nameservers search options]\n# Option ndots from: override\n`,
    );
    // Only the search domains overridden: the host's servers and options stay; `.` means "no search".
    assert.equal(
      resolvConf(host, { network: 'private', dnsSearch: ['.'] }).text,
      `${header}nameserver 1.2.3.4\noptions ndots:0\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Overrides: [search]\n# Option ndots from: host\n`,
    );
    // Loopback servers given with --dns are the user's choice and kept.
    assert.equal(
      resolvConf('nameserver 127.0.0.53', { network: 'private', dns: ['127.0.0.1', '::1'] }).text,
      `${header}nameserver 127.0.0.1\nnameserver ::1\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Overrides: [nameservers]\n`,
    );
    assert.throws(() => resolvConf('', { network: 'private', dns: ['not-an-ip'] }), { message: 'bad nameserver address not-an-ip' });
  });

  test('a user-defined network: the embedded DNS at the gateway, ndots:0, the others as its upstreams (TransformForIntNS goldens)', () => {
    const v4 = resolvConf('nameserver 10.0.0.1\nsearch corp.example\n', { network: 'private', nameserver: '172.18.0.1' });
    assert.equal(
      v4.text,
      `${header}nameserver 172.18.0.1\nsearch corp.example\noptions ndots:0\n\n# Based on host file: '/etc/resolv.conf' (internal resolver)\n# ExtServers: [host(10.0.0.1)]\n# Overrides: []\n# Option ndots from: internal\n`,
    );
    assert.deepEqual(v4.upstreams, [{ address: '10.0.0.1', hostLoopback: true }]);
    const mixed = resolvConf('nameserver 127.0.0.53\noptions trust-ad', { network: 'private', nameserver: '172.18.0.1' });
    assert.equal(
      mixed.text,
      `${header}nameserver 172.18.0.1\noptions trust-ad ndots:0\n\n# Based on host file: '/etc/resolv.conf' (internal resolver)\n# ExtServers: [host(127.0.0.53)]\n# Overrides: []\n# Option ndots from: internal\n`,
    );
    const host1 = resolvConf('nameserver 127.0.0.53\noptions ndots:1', { network: 'private', nameserver: '172.18.0.1' });
    assert.match(host1.text, /^options ndots:1\n[\s\S]*# Option ndots from: host\n$/m);
    const invalidNdots = resolvConf('nameserver 1.1.1.1\noptions ndots:-1 foo:bar ndots ndots:', { network: 'private', nameserver: '172.18.0.1' });
    assert.match(invalidNdots.text, /^options foo:bar ndots:0$/m);
  });

  test('on a user-defined network --dns servers are upstreams reached from the container, and --dns-option keeps its ndots', () => {
    const r = resolvConf('nameserver 10.0.0.1', { network: 'private', nameserver: '172.18.0.1', dns: ['127.0.0.53'], dnsOptions: ['ndots:2'] });
    assert.equal(
      r.text,
      `${header}nameserver 172.18.0.1\noptions ndots:2\n\n# Based on host file: '/etc/resolv.conf' (internal resolver)\n# ExtServers: [127.0.0.53]\n# Overrides: [nameservers options]\n# Option ndots from: override\n`,
    );
    assert.deepEqual(r.upstreams, [{ address: '127.0.0.53', hostLoopback: false }]);
  });

  test('host networking keeps the host\'s resolvers and unknown directives (TestRCUnknownDirectives golden)', () => {
    const host = '\nsomething unexpected\nnameserver 127.0.0.53\noptions ndots:1\nunrecognised thing\n';
    assert.equal(
      resolvConf(host, { network: 'host' }).text,
      `${header}nameserver 127.0.0.53\noptions ndots:1\nsomething unexpected\nunrecognised thing\n\n# Based on host file: '/etc/resolv.conf'\n# Overrides: []\n# Option ndots from: host\n`,
    );
  });

  test('an invalid nameserver of the host is named in a comment (TestRCInvalidNS golden); the last search line wins', () => {
    assert.equal(
      resolvConf('nameserver 1.2.3.4.5\nsearch a\ndomain b c', { network: 'host', sourcePath: '/run/systemd/resolve/resolv.conf' }).text,
      `${header}search b c\n\n# Based on host file: '/run/systemd/resolve/resolv.conf'\n# Invalid nameservers: [1.2.3.4.5]\n# Overrides: []\n`,
    );
  });
});

test('writeEtcFiles writes the three files into the bundle directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-etc-'));
  try {
    const files = await writeEtcFiles(dir, { hostname: 'box', network: 'private', addresses: ['172.17.0.2'], extraHosts: ['gw:host-gateway'], hostGateway: '172.17.0.1', dnsSearch: ['example.org'] });
    assert.deepEqual(files, { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf'), upstreams: [] });
    assert.equal(await readFile(files.hostname, 'utf8'), 'box\n');
    assert.equal(await readFile(files.hosts, 'utf8'), `${defaultHosts}172.17.0.1\tgw\n172.17.0.2\tbox\n`);
    const resolv = await readFile(files.resolvConf, 'utf8');
    assert.ok(resolv.startsWith(header), resolv);
    assert.match(resolv, /^search example\.org$/m);
    assert.match(resolv, /^# Based on host file: '\/(etc|run\/systemd\/resolve)\/resolv\.conf' \(legacy\)$/m);
    assert.doesNotMatch(resolv, /^nameserver (127\.|::1$)/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
