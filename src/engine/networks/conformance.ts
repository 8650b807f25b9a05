/*
 * The NetworkDriver conformance suite: `describeNetworkDriver(name, make)`. Each case uses real network
 * namespaces (netns.ts) and real traffic (busybox ping, httpd, nc), and checks that the host's links and this
 * driver's firewall lines are what they were once everything it made is removed. Other tests may change the
 * host's network at the same time, so only the names this case made and the driver's marker are compared.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { ipBatch, runHostCommand } from './host-commands.ts';
import { createNetns, deleteNetns } from './netns.ts';
import type { DriverEndpoint, DriverNetwork, NetworkDriver, PortMapping } from './network-driver.ts';

export interface NetworkDriverFixture {
  driver: NetworkDriver;
  /** A second driver over the same host state, as the engine makes one after a kill -9 and a restart. */
  reopen(): NetworkDriver;
  /** A driver of another engine on the same host (another data root): it must leave this one's things alone. */
  stranger(): NetworkDriver;
  /** Text in every firewall line this driver owns and in no other program's (its chains' prefix). */
  marker: string;
  /** A network nobody on the host uses yet (fresh bridge name, free subnet). */
  network(options?: Partial<Pick<DriverNetwork, 'internal' | 'masquerade' | 'mtu'>>): Promise<DriverNetwork>;
  /** Removes what the driver made (its chains and jumps) even when a case failed halfway. */
  cleanup(): Promise<void>;
}

export function describeNetworkDriver(name: string, make: () => Promise<NetworkDriverFixture>): void {
  describe(`NetworkDriver conformance: ${name}`, () => {
    let f: NetworkDriverFixture;
    let scratch: Scratch;
    beforeEach(async () => {
      f = await make();
      scratch = new Scratch();
      await f.driver.init();
    });
    afterEach(async () => {
      await scratch.release(f.driver);
      await f.cleanup();
    });

    test('creating and deleting a network leaves no device and no rule, and both may be repeated', async () => {
      const network = await f.network();
      const before = await hostState(f.marker, [network.bridge]);
      await scratch.network(f.driver, network);
      await f.driver.createNetwork(network);
      const during = await hostState(f.marker, [network.bridge]);
      assert.deepEqual(during.links, [network.bridge]);
      assert.ok(during.rules.length > before.rules.length, 'the network has rules');
      assert.match(await runHostCommand(['ip', '-4', '-o', 'addr', 'show', 'dev', network.bridge]), new RegExp(`inet ${network.gateway.replaceAll('.', '\\.')}/`));
      await f.driver.deleteNetwork(network);
      await f.driver.deleteNetwork(network);
      assert.deepEqual(await hostState(f.marker, [network.bridge]), before);
    });

    test('an attached endpoint has its address, MAC and default route, and the host reaches it', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const endpoint = await scratch.endpoint(f.driver, network, 2);
      const netns = scratch.netnsOf(endpoint);
      const addr = await runHostCommand(['ip', '-n', netns, '-o', 'link', 'show', 'dev', endpoint.ifname]);
      assert.match(addr, new RegExp(`link/ether ${endpoint.mac}`));
      assert.match(await runHostCommand(['ip', '-n', netns, '-4', '-o', 'addr']), new RegExp(`${endpoint.ifname} +inet ${endpoint.address}/${endpoint.prefixLength}`));
      assert.match(await runHostCommand(['ip', '-n', netns, 'route']), new RegExp(`^default via ${network.gateway} dev ${endpoint.ifname}`, 'm'));
      assert.ok(await pings(undefined, endpoint.address), 'the host pings the endpoint');
      assert.ok(await pings(netns, network.gateway), 'the endpoint pings its gateway');
    });

    test('a published TCP port answers on 127.0.0.1, on the host\'s other address and from its own network (hairpin)', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const port: PortMapping = { protocol: 'tcp', hostIp: '', hostPort: randomInt(20000, 60000), containerPort: 80 };
      const server = await scratch.endpoint(f.driver, network, 2, [port]);
      const client = await scratch.endpoint(f.driver, network, 3);
      await scratch.httpd(server, 'hello from the container');
      const other = hostAddress();
      assert.equal(await httpGet('127.0.0.1', port.hostPort), 'hello from the container');
      assert.equal(await httpGet(other, port.hostPort), 'hello from the container');
      // busybox wget crashes in Debian's busybox 1.35, so a raw request through nc.
      const nc = ['ip', 'netns', 'exec', scratch.netnsOf(client), 'busybox', 'nc', '-w', '5', other, String(port.hostPort)];
      const hairpin = await runHostCommand(nc, 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(hairpin.slice(hairpin.indexOf('\r\n\r\n') + 4), 'hello from the container');
    });

    test('a port published on one host address answers there only', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const port: PortMapping = { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: randomInt(20000, 60000), containerPort: 80 };
      const server = await scratch.endpoint(f.driver, network, 2, [port]);
      await scratch.httpd(server, 'loopback only');
      assert.equal(await httpGet('127.0.0.1', port.hostPort), 'loopback only');
      await assert.rejects(httpGet(hostAddress(), port.hostPort));
    });

    test('an endpoint cannot reach the host\'s loopback services, even with packets sent to 127.0.0.1 through its gateway', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const endpoint = await scratch.endpoint(f.driver, network, 2);
      const netns = scratch.netnsOf(endpoint);
      // What a container with CAP_NET_RAW can put on the wire: the local table moved behind a rule that sends
      // 127.0.0.0/8 to the gateway, so the datagram leaves by eth0 addressed to 127.0.0.1.
      const toGateway = [`rule add pref 100 lookup local`, `rule del pref 0`, `rule add pref 10 to 127.0.0.0/8 lookup 100`];
      await ipBatch([...toGateway, `route add 127.0.0.0/8 via ${network.gateway} dev ${endpoint.ifname} table 100`], { netns });
      assert.match(await runHostCommand(['ip', '-n', netns, 'route', 'get', '127.0.0.1']), new RegExp(`via ${network.gateway.replaceAll('.', '\\.')} dev ${endpoint.ifname}`));
      const port = randomInt(20000, 60000);
      assert.equal(await udpReaches(netns, network.gateway, port), true, 'the same datagram reaches the gateway address');
      assert.equal(await udpReaches(netns, '127.0.0.1', port), false, 'a datagram for 127.0.0.1 reached the host');
    });

    test('a device of the same name that the driver did not make is neither reused nor deleted', async () => {
      const network = await f.network();
      await runHostCommand(['ip', 'link', 'add', 'name', network.bridge, 'type', 'bridge']);
      const before = await hostState(f.marker, [network.bridge]);
      await assert.rejects(scratch.network(f.driver, network), (err) => isFault(err, 'conflict') && err.message.includes(`device ${network.bridge} exists and is not this engine's`));
      await f.driver.deleteNetwork(network);
      assert.deepEqual(await hostState(f.marker, [network.bridge]), before);
      assert.doesNotMatch(await runHostCommand(['ip', '-4', '-o', 'addr', 'show', 'dev', network.bridge]), /inet /);
    });

    test('another engine on the host neither takes over nor deletes this one\'s bridge', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const before = await hostState(f.marker, [network.bridge]);
      const stranger = f.stranger();
      try {
        await stranger.init();
        await assert.rejects(stranger.createNetwork(network), (err) => isFault(err, 'conflict') && err.message.includes(`device ${network.bridge} exists and is not this engine's`));
        await stranger.deleteNetwork(network);
      } finally {
        await stranger.reset();
      }
      assert.deepEqual(await hostState(f.marker, [network.bridge]), before);
    });

    test('an endpoint reaches an address beyond the host through outbound NAT, and without NAT gets no answer', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const plain = await scratch.network(f.driver, await f.network({ masquerade: false }));
      const a = await scratch.endpoint(f.driver, network, 2);
      const b = await scratch.endpoint(f.driver, plain, 2);
      // The outside host knows no route to the networks: only a packet that carries the host's address comes back.
      const outside = await scratch.outside(await f.network());
      assert.ok(await pings(scratch.netnsOf(a), outside), 'masqueraded');
      assert.equal(await pings(scratch.netnsOf(b), outside), false, 'not masqueraded');
    });

    test('two endpoints on one network reach each other', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const a = await scratch.endpoint(f.driver, network, 2);
      const b = await scratch.endpoint(f.driver, network, 3);
      assert.ok(await pings(scratch.netnsOf(a), b.address));
      assert.ok(await pings(scratch.netnsOf(b), a.address));
    });

    test('endpoints on two networks cannot reach each other, whichever network came first', async () => {
      const one = await scratch.network(f.driver, await f.network());
      const two = await scratch.network(f.driver, await f.network());
      const a = await scratch.endpoint(f.driver, one, 2);
      const b = await scratch.endpoint(f.driver, two, 2);
      assert.ok((await pings(undefined, a.address)) && (await pings(undefined, b.address)), 'the host reaches both');
      assert.equal(await pings(scratch.netnsOf(a), b.address), false, 'first to second');
      assert.equal(await pings(scratch.netnsOf(b), a.address), false, 'second to first');
    });

    test('an internal network has no default route and no NAT, but its endpoints reach each other', async () => {
      const network = await scratch.network(f.driver, await f.network({ internal: true }));
      const a = await scratch.endpoint(f.driver, network, 2);
      const b = await scratch.endpoint(f.driver, network, 3);
      assert.doesNotMatch(await runHostCommand(['ip', '-n', scratch.netnsOf(a), 'route']), /^default/m);
      const nat = (await hostState(f.marker, [network.bridge])).rules.filter((line) => line.includes('MASQUERADE') && line.includes(network.subnet));
      assert.deepEqual(nat, []);
      assert.ok(await pings(scratch.netnsOf(a), b.address));
      assert.equal(await pings(scratch.netnsOf(a), hostAddress()), false, 'no way out');
    });

    test('attaching again leaves one set of port rules, and detaching twice or without a namespace is fine', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const before = await hostState(f.marker, [network.bridge]);
      const port: PortMapping = { protocol: 'udp', hostIp: '', hostPort: randomInt(20000, 60000), containerPort: 53 };
      const endpoint = await scratch.endpoint(f.driver, network, 2, [port]);
      await f.driver.attach(endpoint);
      const rules = (await hostState(f.marker, [])).rules.filter((line) => line.includes(`--dport ${port.hostPort} `));
      assert.equal(rules.length, 1, rules.join('\n'));
      assert.ok(await pings(undefined, endpoint.address), 'the second attach left a working endpoint');
      await f.driver.detach(endpoint);
      await f.driver.detach(endpoint);
      await f.driver.attach(endpoint);
      await deleteNetns(scratch.netnsOf(endpoint));
      await f.driver.detach(endpoint);
      const names = [network.bridge, endpoint.hostIfname];
      assert.deepEqual(await hostState(f.marker, names), { ...before, links: [network.bridge] });
    });

    test('init() after a crash drops the port forwards of the endpoints that died with it', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const before = await hostState(f.marker, [network.bridge]);
      const port: PortMapping = { protocol: 'tcp', hostIp: '', hostPort: randomInt(20000, 60000), containerPort: 80 };
      await scratch.endpoint(f.driver, network, 2, [port]);
      assert.notDeepEqual(await hostState(f.marker, [network.bridge]), before);
      const restarted = f.reopen();
      await restarted.init();
      await restarted.createNetwork(network);
      assert.deepEqual((await hostState(f.marker, [network.bridge])).rules, before.rules);
    });

    test('reset() removes every chain and jump of the driver', async () => {
      const network = await scratch.network(f.driver, await f.network());
      const port: PortMapping = { protocol: 'tcp', hostIp: '', hostPort: randomInt(20000, 60000), containerPort: 80 };
      await scratch.endpoint(f.driver, network, 2, [port]);
      assert.notDeepEqual((await hostState(f.marker, [])).rules, []);
      await f.driver.reset();
      assert.deepEqual((await hostState(f.marker, [])).rules, []);
      await f.driver.reset();
    });
  });
}

/** What one case made, released in reverse order whether the case passed or not. */
class Scratch {
  readonly #networks: DriverNetwork[] = [];
  readonly #endpoints: DriverEndpoint[] = [];
  readonly #netns = new Map<DriverEndpoint, string>();
  readonly #outside: string[] = [];
  readonly #servers: ChildProcess[] = [];
  readonly #dirs: string[] = [];

  async network(driver: NetworkDriver, network: DriverNetwork): Promise<DriverNetwork> {
    this.#networks.push(network);
    await driver.createNetwork(network);
    return network;
  }

  /** An endpoint with address `.host` of the network's subnet in a namespace of its own, attached. */
  async endpoint(driver: NetworkDriver, network: DriverNetwork, host: number, ports: PortMapping[] = []): Promise<DriverEndpoint> {
    const netns = `wharf-t${randomBytes(6).toString('hex')}`;
    const address = subnetAddress(network.subnet, host);
    const mac = `02:42:${address.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join(':')}`;
    const endpoint: DriverEndpoint = {
      containerId: randomBytes(32).toString('hex'),
      netnsPath: await createNetns(netns),
      network,
      ifname: 'eth0',
      hostIfname: `vw${randomBytes(6).toString('hex')}`,
      address,
      prefixLength: Number(network.subnet.split('/')[1]),
      mac,
      defaultRoute: true,
      ports,
    };
    this.#netns.set(endpoint, netns);
    this.#endpoints.push(endpoint);
    await driver.attach(endpoint);
    return endpoint;
  }

  /**
   * A machine beyond the host: a namespace joined to the host by a veth pair (not a bridge of the driver) named and
   * addressed after `link`, with no route but its link's. Returns its address.
   */
  async outside(link: DriverNetwork): Promise<string> {
    const netns = `wharf-t${randomBytes(6).toString('hex')}`;
    this.#outside.push(netns);
    await createNetns(netns);
    const prefix = link.subnet.split('/')[1];
    const address = subnetAddress(link.subnet, 2);
    await ipBatch([`link add name ${link.bridge} type veth peer name eth0 netns ${netns}`, `addr add ${link.gateway}/${prefix} dev ${link.bridge}`, `link set dev ${link.bridge} up`]);
    await ipBatch([`addr add ${address}/${prefix} dev eth0`, 'link set dev eth0 up'], { netns });
    return address;
  }

  netnsOf(endpoint: DriverEndpoint): string {
    return this.#netns.get(endpoint) ?? assert.fail('not an endpoint of this case');
  }

  /** busybox httpd on port 80 of the endpoint, serving `body` as its index; ready when this resolves. */
  async httpd(endpoint: DriverEndpoint, body: string): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-net-httpd-'));
    this.#dirs.push(dir);
    await writeFile(join(dir, 'index.html'), body);
    const server = spawn('ip', ['netns', 'exec', this.netnsOf(endpoint), 'busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' });
    this.#servers.push(server);
    const deadline = Date.now() + 10_000;
    while ((await httpGet(endpoint.address, 80).catch(() => undefined)) !== body) {
      if (Date.now() > deadline || server.exitCode !== null) assert.fail(`httpd in ${this.netnsOf(endpoint)} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async release(driver: NetworkDriver): Promise<void> {
    for (const server of this.#servers) server.kill('SIGKILL');
    for (const endpoint of this.#endpoints.reverse()) {
      await driver.detach(endpoint).catch(() => undefined);
      await deleteNetns(this.netnsOf(endpoint));
    }
    for (const netns of this.#outside) await deleteNetns(netns);
    for (const network of this.#networks.reverse()) await driver.deleteNetwork(network).catch(() => undefined);
    for (const dir of this.#dirs) await rm(dir, { recursive: true, force: true });
  }
}

/** The links among `names` and the firewall lines that carry `marker` or one of `names`, without counters. */
async function hostState(marker: string, names: string[]): Promise<{ links: string[]; rules: string[] }> {
  const links = (await runHostCommand(['ip', '-br', 'link']))
    .split('\n')
    .map((line) => (line.split(/\s+/)[0] ?? '').split('@')[0])
    .filter((link) => names.includes(link))
    .sort();
  const rules = (await runHostCommand(['iptables-save']))
    .split('\n')
    .filter((line) => line.includes(marker) || line.split(' ').some((word) => names.includes(word)))
    .map((line) => line.replace(/ \[\d+:\d+\]$/, ''))
    .sort();
  return { links, rules };
}

/** True when a UDP datagram sent from inside `netns` to `address`:`port` arrives at a socket bound there on the host. */
async function udpReaches(netns: string, address: string, port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  let arrived = false;
  socket.on('message', () => (arrived = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, resolve);
  });
  try {
    const send = `const s = require('node:dgram').createSocket('udp4'); s.send('x', ${port}, '${address}', (e) => { if (e) throw e; s.close(); });`;
    await runHostCommand(['ip', 'netns', 'exec', netns, process.execPath, '-e', send]);
    const deadline = Date.now() + 1000;
    while (!arrived && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    return arrived;
  } finally {
    socket.close();
  }
}

/** One ICMP echo, from the host or from inside `netns`. */
async function pings(netns: string | undefined, address: string): Promise<boolean> {
  const ping = ['busybox', 'ping', '-c', '1', '-W', '2', address];
  const argv = netns === undefined ? ping : ['ip', 'netns', 'exec', netns, ...ping];
  return runHostCommand(argv).then(
    () => true,
    () => false,
  );
}

/** The body of `GET /` over plain TCP (no HTTP client between the test and the NAT rules). */
function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: 5000 });
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('timeout', () => socket.destroy(new Error(`GET ${host}:${port} timed out`)));
    socket.on('error', reject);
    socket.on('close', () => {
      const response = Buffer.concat(chunks).toString('utf8');
      const split = response.indexOf('\r\n\r\n');
      if (split < 0) reject(new Error(`GET ${host}:${port}: no HTTP response`));
      else resolve(response.slice(split + 4));
    });
  });
}

/** An IPv4 address of the host other than loopback and the bridges (what a client on the LAN would use). */
function hostAddress(): string {
  const found = Object.entries(networkInterfaces())
    .filter(([name]) => !existsSync(`/sys/class/net/${name}/bridge`))
    .flatMap(([, addresses]) => addresses ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal);
  return found?.address ?? assert.fail('the host has no IPv4 address besides loopback');
}

function subnetAddress(subnet: string, host: number): string {
  const base = subnet.split('/')[0].split('.').map(Number);
  const n = ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) + host;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
