import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { createLogger } from '../../base/log.ts';
import { BridgeDriver } from './bridge-driver.ts';
import { bridgeChains, jumpRules, networkRules, portRules, type Rule } from './bridge-firewall.ts';
import { checkInterfaceName } from './driver-checks.ts';
import { describeNetworkDriver } from './conformance.ts';
import { runHostCommand } from './host-commands.ts';
import type { DriverNetwork } from './network-driver.ts';

const logger = createLogger({ level: 'silent' });

/** A random 10.x.y.0/24 that overlaps no route of the host (other tests' bridges included). */
async function freeSubnet(): Promise<string> {
  const routes = (await runHostCommand(['ip', '-4', 'route', 'show', 'table', 'all']))
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((dst) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst));
  for (let i = 0; i < 100; i++) {
    const subnet = `10.${randomInt(1, 255)}.${randomInt(0, 256)}.0/24`;
    if (!routes.some((route) => overlaps(route, subnet))) return subnet;
  }
  throw new Error('no free 10.x.y.0/24 for a test network');
}

function overlaps(a: string, b: string): boolean {
  const range = (cidr: string) => {
    const [ip, bits = '32'] = cidr.split('/');
    const n = ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    const size = 2 ** (32 - Number(bits));
    const start = n - (n % size);
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

async function testNetwork(options: Partial<DriverNetwork> = {}): Promise<DriverNetwork> {
  const subnet = await freeSubnet();
  return {
    id: randomBytes(32).toString('hex'),
    bridge: `wt${randomBytes(5).toString('hex')}`,
    subnet,
    gateway: subnet.replace(/0\/24$/, '1'),
    internal: false,
    masquerade: true,
    mtu: 0,
    ...options,
  };
}

async function deleteLinks(names: string[]): Promise<void> {
  for (const name of names) await runHostCommand(['ip', 'link', 'del', name]).catch(() => undefined);
}

describeNetworkDriver('bridge', async () => {
  const instance = randomBytes(4).toString('hex');
  const make = () => new BridgeDriver({ instance, logger });
  const driver = make();
  const bridges: string[] = [];
  return {
    driver,
    reopen: make,
    stranger: () => new BridgeDriver({ instance: randomBytes(4).toString('hex'), logger }),
    marker: `WHARF-${instance}-`,
    network: async (options) => {
      const network = await testNetwork(options);
      bridges.push(network.bridge);
      return network;
    },
    cleanup: async () => {
      await driver.reset();
      await deleteLinks(bridges);
    },
  };
});

test('the bridge driver writes its rules as iptables -S prints them, so what it reads back matches', async () => {
  const instance = randomBytes(4).toString('hex');
  const driver = new BridgeDriver({ instance, logger });
  const network = await testNetwork({ mtu: 1400 });
  const chains = bridgeChains(instance);
  try {
    await driver.init();
    await driver.createNetwork(network);
    const endpoint = {
      containerId: 'c'.repeat(64),
      netnsPath: '/run/netns/unused',
      network,
      ifname: 'eth0',
      hostIfname: 'unused',
      address: network.gateway.replace(/1$/, '2'),
      prefixLength: 24,
      mac: '02:42:0a:00:00:02',
      defaultRoute: true,
      ports: [
        { protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 },
        { protocol: 'udp' as const, hostIp: '', hostPort: 5353, containerPort: 53 },
      ],
    };
    const rules: Rule[] = [...jumpRules(chains), ...networkRules(chains, network), ...portRules(chains, endpoint)];
    const ports = portRules(chains, endpoint).map((rule) => `-A ${rule.chain} ${rule.spec}`);
    await runHostCommand(['iptables-restore', '-w', '--noflush'], `*nat\n${ports.join('\n')}\nCOMMIT\n`);
    const printed = (await Promise.all(['raw', 'nat', 'filter'].map((table) => runHostCommand(['iptables', '-w', '-t', table, '-S'])))).flatMap((text) => text.split('\n'));
    for (const rule of rules) assert.ok(printed.includes(`-A ${rule.chain} ${rule.spec}`), `-A ${rule.chain} ${rule.spec}`);
    assert.match(await runHostCommand(['ip', '-o', 'link', 'show', 'dev', network.bridge]), / mtu 1400 /);
  } finally {
    await driver.reset();
    await deleteLinks([network.bridge]);
  }
});

test('the bridge driver refuses names and addresses that could smuggle a second command', async () => {
  const driver = new BridgeDriver({ instance: randomBytes(4).toString('hex'), logger });
  const network = await testNetwork();
  for (const bad of [{ bridge: 'br0\nlink del eth0' }, { bridge: 'a-name-too-long-x' }, { subnet: '10.0.0.0/33' }, { gateway: '10.0.0.1 dev eth0' }]) {
    await assert.rejects(driver.createNetwork({ ...network, ...bad }), (err) => isFault(err, 'invalid-argument'));
  }
  assert.throws(() => new BridgeDriver({ instance: 'WHARF', logger }), (err) => isFault(err, 'invalid-argument'));
  await assert.rejects(driver.createNetwork({ ...network, id: 'x y' }), (err) => isFault(err, 'invalid-argument'));
});

test('one interface-name check, shared with the network service, says what a name may hold', () => {
  for (const good of ['wharf0', 'br-0123456789ab', 'a', 'up', 'x'.repeat(15)]) assert.equal(checkInterfaceName(good), good);
  for (const bad of ['', 'a#b', 'a b', 'a/b', 'a:b', '-a', '.', 'x'.repeat(16), 'é']) {
    assert.throws(() => checkInterfaceName(bad, 'com.docker.network.bridge.name'), (err) => {
      return isFault(err, 'invalid-argument') && err.message.startsWith(`invalid com.docker.network.bridge.name ${JSON.stringify(bad)}: an interface name has 1 to 15 characters`);
    });
  }
});

test('deleting a network whose bridge name could never have been made does nothing and does not throw', async () => {
  const driver = new BridgeDriver({ instance: randomBytes(4).toString('hex'), logger });
  const network = await testNetwork();
  for (const bridge of ['a#b', '../lo', 'lo\nlink del eth0', '']) await driver.deleteNetwork({ ...network, bridge });
});

test('the FORWARD jump to TO is inserted at the top and the one to FROM appended at the end, once each', async () => {
  const instance = randomBytes(4).toString('hex');
  const chains = bridgeChains(instance);
  const driver = new BridgeDriver({ instance, logger });
  try {
    await driver.init();
    await driver.init();
    const forward = (await runHostCommand(['iptables', '-w', '-S', 'FORWARD'])).split('\n').filter((line) => line.startsWith('-A '));
    const to = forward.indexOf(`-A FORWARD -j ${chains.to}`);
    const from = forward.indexOf(`-A FORWARD -j ${chains.from}`);
    assert.equal(forward.filter((line) => line.endsWith(`-j ${chains.to}`)).length, 1, forward.join('\n'));
    assert.equal(forward.filter((line) => line.endsWith(`-j ${chains.from}`)).length, 1, forward.join('\n'));
    // Other wharf engines of concurrent tests put their jumps around ours; every other rule of the host sits between.
    const hosts = forward.map((line, i) => (/ -j WHARF-[0-9a-f]{8}-/.test(line) ? -1 : i)).filter((i) => i >= 0);
    assert.ok(to >= 0 && hosts.every((i) => to < i), forward.join('\n'));
    assert.ok(from > to && hosts.every((i) => i < from), forward.join('\n'));
    assert.deepEqual(
      jumpRules(chains).map((jump) => [jump.table, jump.chain, jump.at]),
      [['raw', 'PREROUTING', '-I'], ['nat', 'PREROUTING', '-I'], ['nat', 'OUTPUT', '-I'], ['nat', 'POSTROUTING', '-I'], ['filter', 'FORWARD', '-I'], ['filter', 'FORWARD', '-A']],
    );
  } finally {
    await driver.reset();
  }
});

test('init() drops what an older layout left: its chains and the jumps into them', async () => {
  const instance = randomBytes(4).toString('hex');
  const old = `WHARF-${instance}-FORWARD`;
  const driver = new BridgeDriver({ instance, logger });
  try {
    await runHostCommand(['iptables-restore', '-w', '--noflush'], `*filter\n:${old} - [0:0]\n-I FORWARD -j ${old}\nCOMMIT\n`);
    await driver.init();
    assert.doesNotMatch(await runHostCommand(['iptables-save']), new RegExp(old));
  } finally {
    await driver.reset();
  }
});

test('a network without masquerading keeps its hairpin and loopback NAT but has no outbound NAT', async () => {
  const chains = bridgeChains('0123abcd');
  const network = await testNetwork({ masquerade: false });
  const nat = networkRules(chains, network).filter((rule) => rule.table === 'nat').map((rule) => rule.spec);
  assert.deepEqual(nat, [
    `-s 127.0.0.0/8 -o ${network.bridge} -j MASQUERADE`,
    `-s ${network.subnet} -o ${network.bridge} -m conntrack --ctstate DNAT -j MASQUERADE`,
  ]);
});
