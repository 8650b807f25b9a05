import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../base/config.ts';
import { isFault } from '../../base/fault.ts';
import { createLogger } from '../../base/log.ts';
import { EventLog } from '../events.ts';
import { Ipam } from './ipam.ts';
import { FakeNetworkDns, FakeNetworkDriver } from '../../../test/support/fake-network.ts';
import type { NetworkRecord } from './network-record.ts';
import { NetworkRecords } from './network-records.ts';
import { type NetworkEndpointInfo, NetworkService, type NetworkServiceDeps } from './network-service.ts';

// The driver and the DNS are call-recording fakes (see test/support/fake-network.ts for why); IPAM, subnet
// picking and the records are the real ones.
const logger = createLogger({ level: 'silent' });
const pools = configSchema.parse({}).engine.network.addressPools;

interface Harness {
  dir: string;
  driver: FakeNetworkDriver;
  dns: FakeNetworkDns;
  ipam: Ipam;
  events: EventLog;
  endpoints: Map<string, NetworkEndpointInfo[]>;
  devices: Set<string>;
}

function harness(): Harness {
  return {
    dir: mkdtempSync(join(tmpdir(), 'wharf-networks-')),
    driver: new FakeNetworkDriver(),
    dns: new FakeNetworkDns(),
    ipam: new Ipam(),
    events: new EventLog(),
    endpoints: new Map(),
    devices: new Set(['eth0']),
  };
}

/** A service over the harness's records; a restart passes a fresh Ipam (it lives in memory), and maybe more. */
function newService(h: Harness, overrides: Partial<NetworkServiceDeps> = {}): NetworkService {
  const service = new NetworkService({
    records: new NetworkRecords(h.dir),
    driver: h.driver,
    ipam: h.ipam,
    dns: h.dns,
    events: h.events,
    logger,
    config: { bridge: 'wt0', defaultSubnet: '', addressPools: pools },
    // 172.17/16 is taken on this pretend host, as docker0's is when a dockerd runs beside us.
    hostRoutes: async () => [
      { subnet: '172.17.0.0/16', device: 'docker0', onLink: true },
      { subnet: '192.0.2.0/24', device: 'eth0', onLink: true },
      { subnet: '10.8.0.0/16', device: 'tun0', onLink: false },
    ],
    deviceExists: (name) => h.devices.has(name),
    ...overrides,
  });
  service.setEndpoints((id) => h.endpoints.get(id) ?? []);
  return service;
}

async function rejectsWith(work: Promise<unknown>, kind: Parameters<typeof isFault>[1], message: string | RegExp): Promise<void> {
  await assert.rejects(work, (err) => {
    assert.ok(isFault(err, kind), `${String(err)} is not a ${kind} fault`);
    if (typeof message === 'string') assert.equal((err as Error).message, message);
    else assert.match((err as Error).message, message);
    return true;
  });
}

describe('NetworkService', () => {
  let h: Harness;
  let service: NetworkService;
  beforeEach(async () => {
    h = harness();
    service = newService(h);
    await service.restore();
  });
  afterEach(() => rmSync(h.dir, { recursive: true, force: true }));

  test('the first start makes bridge, host and none; a restart keeps their IDs and brings the bridge back', async () => {
    const names = service.list().map((r) => `${r.name}/${r.driver}`);
    assert.deepEqual(names.sort(), ['bridge/bridge', 'host/host', 'none/null']);
    const bridge = service.find('bridge');
    assert.deepEqual(bridge.pools, [{ subnet: '172.18.0.0/16', gateway: '172.18.0.1' }]);
    assert.deepEqual(bridge.options, {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': 'wt0',
      'com.docker.network.driver.mtu': '1500',
    });
    assert.deepEqual(h.driver.calls, ['init', 'create wt0']);
    assert.deepEqual(h.dns.calls, [], 'the default bridge has no embedded DNS, as moby');
    const ids = service.list().map((r) => r.id);

    const restarted = newService(h, { ipam: new Ipam() });
    await restarted.restore();
    assert.deepEqual(restarted.list().map((r) => r.id), ids);
    assert.deepEqual(h.driver.calls.slice(2), ['init', 'create wt0']);
  });

  test('networks made in the same millisecond list in the same order after a restart (by name, not disk order)', async () => {
    const tied = harness();
    try {
      const sameMs = () => Date.parse('2026-01-01T00:00:00Z');
      const first = newService(tied, { now: sameMs });
      await first.restore();
      const order = first.list().map((r) => r.name);
      assert.deepEqual(order, ['bridge', 'host', 'none']);
      for (let restart = 0; restart < 5; restart++) {
        const again = newService(tied, { ipam: new Ipam(), now: sameMs });
        await again.restore();
        assert.deepEqual(again.list().map((r) => r.name), order);
      }
    } finally {
      rmSync(tied.dir, { recursive: true, force: true });
    }
  });

  test('a changed bridge device or default subnet remakes the default bridge under the same ID', async () => {
    const before = service.find('bridge');
    const restarted = newService(h, { ipam: new Ipam(), config: { bridge: 'wt1', defaultSubnet: '10.99.0.0/24', addressPools: pools } });
    await restarted.restore();
    const after = restarted.find('bridge');
    assert.equal(after.id, before.id);
    assert.equal(after.bridge?.device, 'wt1');
    assert.deepEqual(after.pools, [{ subnet: '10.99.0.0/24', gateway: '10.99.0.1' }]);
    assert.deepEqual(h.driver.calls.slice(2), ['init', 'delete wt0', 'create wt1']);
  });

  test('create picks the next free subnet, makes pool, bridge and DNS, then shows the network', async () => {
    const seen: string[] = [];
    h.events.subscribe((e) => seen.push(`${e.Type} ${e.Action} ${e.Actor.Attributes.name} ${e.Actor.Attributes.type}`));
    const record = await service.create({ Name: 'n1', Driver: 'bridge', Labels: { a: 'b' }, IPAM: { Driver: 'default', Config: [], Options: {} }, Options: {} });
    assert.deepEqual(record.pools, [{ subnet: '172.19.0.0/16', gateway: '172.19.0.1' }]);
    assert.equal(record.bridge?.device, `br-${record.id.slice(0, 12)}`);
    assert.deepEqual(record.labels, { a: 'b' });
    assert.equal(h.driver.networks.get(record.id)?.subnet, '172.19.0.0/16');
    assert.equal(h.dns.listening.get(record.id), '172.19.0.1');
    assert.equal(h.ipam.allocate(record.id), '172.19.0.2', 'the pool is registered and the gateway reserved');
    assert.deepEqual(seen, ['network create n1 bridge']);
    assert.equal(service.find('n1').id, record.id);
    assert.equal(service.find(record.id.slice(0, 12)).name, 'n1');
  });

  test('a user subnet, gateway, range and the bridge options are kept; inspect shows the options as given', async () => {
    const options = {
      'com.docker.network.bridge.name': 'wtuser',
      'com.docker.network.bridge.enable_ip_masquerade': 'false',
      'com.docker.network.driver.mtu': '1400',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    };
    const record = await service.create({ Name: 'n2', Internal: true, IPAM: { Config: [{ Subnet: '10.10.0.0/24', Gateway: '10.10.0.254', IPRange: '10.10.0.128/25' }] }, Options: options });
    assert.deepEqual(record.pools, [{ subnet: '10.10.0.0/24', gateway: '10.10.0.254', ipRange: '10.10.0.128/25' }]);
    assert.deepEqual(record.options, options);
    assert.deepEqual(service.networkFor('n2').driver, {
      id: record.id,
      bridge: 'wtuser',
      subnet: '10.10.0.0/24',
      gateway: '10.10.0.254',
      internal: true,
      masquerade: false,
      mtu: 1400,
    });
    assert.equal(service.networkFor('n2').dns, true);
    assert.equal(service.defaultBridge().dns, false);
    assert.equal(service.defaultBridge().isDefaultBridge, true);
    assert.equal(service.networkFor('host').driver, undefined);
  });

  test('refusals carry moby\'s texts and statuses and leave nothing behind', async () => {
    await service.create({ Name: 'n1', IPAM: { Config: [{ Subnet: '10.20.0.0/16' }] } });
    const calls = h.driver.calls.length;
    const cases: [Parameters<NetworkService['create']>[0], Parameters<typeof isFault>[1], string | RegExp][] = [
      [{ Name: 'bridge' }, 'permission-denied', 'operation is not permitted on predefined bridge network '],
      [{ Name: 'default' }, 'permission-denied', 'operation is not permitted on predefined default network '],
      [{ Name: 'n1' }, 'already-exists', 'network with name n1 already exists'],
      [{ Name: '' }, 'invalid-argument', 'invalid name: name is empty'],
      [{ Name: 'x', Driver: 'overlay' }, 'not-found', 'plugin "overlay" not found'],
      [{ Name: 'x', Driver: 'host' }, 'permission-denied', 'only one instance of "host" network is allowed'],
      [{ Name: 'x', IPAM: { Driver: 'other' } }, 'not-found', 'plugin "other" not found'],
      [{ Name: 'x', EnableIPv6: true }, 'invalid-argument', /EnableIPv6 is not supported/],
      [{ Name: 'x', Ingress: true }, 'permission-denied', 'Ingress network can only be global scope network'],
      [{ Name: 'x', ConfigFrom: { Network: 'cfg' } }, 'not-found', 'configuration network "cfg" not found'],
      [{ Name: 'x', Scope: 'swarm' }, 'invalid-argument', /scope "swarm" is not supported/],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.20.5.0/24' }] } }, 'permission-denied', 'invalid pool request: Pool overlaps with other one on this address space'],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.30.0.1/24' }] } }, 'invalid-argument', 'invalid network config:\ninvalid subnet 10.30.0.1/24: it should be 10.30.0.0/24'],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: 'nonsense' }] } }, 'invalid-argument', 'invalid network config:\ninvalid subnet nonsense: invalid CIDR block notation'],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.30.0.0/24', AuxiliaryAddresses: { a: '10.30.0.5' } }] } }, 'invalid-argument', /AuxiliaryAddresses/],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.enable_icc': 'false' } }, 'invalid-argument', /enable_icc=false is not supported/],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' } }, 'invalid-argument', /host_binding_ipv4=127.0.0.1 is not supported/],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' } }, 'invalid-argument', /"com.docker.network.bridge.gateway_mode_ipv4" is not supported/],
      [
        { Name: 'x', Options: { 'com.docker.network.driver.mtu': 'big' } },
        'invalid-argument',
        'failed to parse com.docker.network.driver.mtu value: big (strconv.Atoi: parsing "big": invalid syntax)',
      ],
      [
        { Name: 'x', Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'maybe' } },
        'invalid-argument',
        'failed to parse com.docker.network.bridge.enable_ip_masquerade value: maybe (strconv.ParseBool: parsing "maybe": invalid syntax)',
      ],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.name': 'wt0' } }, 'permission-denied', /conflicts with network .* \(wt0\): networks have same bridge name$/],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.name': 'eth0' } }, 'permission-denied', /the host already has a device named eth0/],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.name': 'a-name-too-long-for-linux' } }, 'invalid-argument', /^invalid com.docker.network.bridge.name "a-name-too-long-for-linux": an interface name has 1 to 15 characters/],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.name': 'a#b' } }, 'invalid-argument', /^invalid com.docker.network.bridge.name "a#b": an interface name/],
      [{ Name: 'x', Options: { 'com.docker.network.bridge.name': 'a\nb' } }, 'invalid-argument', /^invalid com.docker.network.bridge.name "a\\nb"/],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '0.0.0.0/0' }] } }, 'invalid-argument', 'invalid subnet 0.0.0.0/0: a network cannot span every address'],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '127.0.0.0/8' }] } }, 'invalid-argument', 'invalid subnet 127.0.0.0/8: it overlaps 127.0.0.0/8 (loopback), which no network may use'],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '169.254.0.0/24' }] } }, 'invalid-argument', /invalid subnet 169.254.0.0\/24: it overlaps 169.254.0.0\/16 \(link-local\)/],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '224.0.0.0/4' }] } }, 'invalid-argument', /invalid subnet 224.0.0.0\/4: it overlaps 224.0.0.0\/3/],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '0.0.0.0/8' }] } }, 'invalid-argument', /invalid subnet 0.0.0.0\/8: it overlaps 0.0.0.0\/8/],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '172.17.5.0/24' }] } }, 'permission-denied', 'invalid pool request: Pool overlaps with other one on this address space'],
      [{ Name: 'x', IPAM: { Config: [{ Subnet: '192.0.0.0/16' }] } }, 'permission-denied', 'invalid pool request: Pool overlaps with other one on this address space'],
    ];
    for (const [request, kind, message] of cases) await rejectsWith(service.create(request), kind, message);
    assert.deepEqual(service.list().map((r) => r.name).sort(), ['bridge', 'host', 'n1', 'none']);
    assert.equal(h.driver.calls.length, calls, 'no refused create reached the driver');
    assert.equal(readdirSync(h.dir).length, 4);
  });

  test('a user subnet may cover a route through a gateway, or one on a bridge of this engine, but no other link', async () => {
    const routes = [
      { subnet: '10.8.0.0/16', device: 'tun0', onLink: false },
      { subnet: '10.9.0.0/16', device: 'wt0', onLink: true },
      { subnet: '10.7.0.0/16', device: 'wharf9', onLink: true },
    ];
    const own = newService(h, { hostRoutes: async () => routes, config: { bridge: 'wt0', defaultSubnet: '', addressPools: [{ base: '10.8.0.0/14', size: 16 }] } });
    const picked = await own.create({ Name: 'picked' });
    assert.equal(picked.pools[0].subnet, '10.10.0.0/16', 'picking still avoids every route');
    assert.equal((await own.create({ Name: 'vpn', IPAM: { Config: [{ Subnet: '10.8.1.0/24' }] } })).pools[0].subnet, '10.8.1.0/24');
    assert.equal((await own.create({ Name: 'ours', IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } })).pools[0].subnet, '10.9.0.0/24');
    await rejectsWith(own.create({ Name: 'other', IPAM: { Config: [{ Subnet: '10.0.0.0/8' }] } }), 'permission-denied', 'invalid pool request: Pool overlaps with other one on this address space');
  });

  test('a configured default subnet must be usable and must not shadow a host link', async () => {
    for (const [defaultSubnet, kind, message] of [
      ['127.0.0.0/16', 'invalid-argument', 'invalid subnet 127.0.0.0/16: it overlaps 127.0.0.0/8 (loopback), which no network may use'],
      ['172.17.0.0/16', 'permission-denied', 'invalid pool request: Pool overlaps with other one on this address space'],
    ] as const) {
      const restarted = newService(h, { ipam: new Ipam(), config: { bridge: 'wt1', defaultSubnet, addressPools: pools } });
      await rejectsWith(restarted.restore(), kind, message);
    }
  });

  test('a driver failure undoes the pool and leaves no record', async () => {
    h.driver.failCreate = new Error('ip: RTNETLINK answers: Operation not permitted');
    await assert.rejects(service.create({ Name: 'n1', IPAM: { Config: [{ Subnet: '10.40.0.0/24' }] } }), /Operation not permitted/);
    h.driver.failCreate = undefined;
    assert.throws(() => service.find('n1'), (err) => isFault(err, 'not-found') && err.message === 'network n1 not found');
    assert.equal(readdirSync(h.dir).length, 3);
    assert.deepEqual(h.dns.listening.size, 0);
    const record = await service.create({ Name: 'n1', IPAM: { Config: [{ Subnet: '10.40.0.0/24' }] } });
    assert.equal(h.ipam.allocate(record.id), '10.40.0.2', 'the failed attempt released its pool');
  });

  test('a record left pending by a crash is removed at the next start, host side included', async () => {
    const records = new NetworkRecords(h.dir);
    const half: NetworkRecord = {
      ...service.find('bridge'),
      id: 'e'.repeat(64),
      name: 'half',
      bridge: { device: 'br-eeeeeeeeeeee', masquerade: true, mtu: 0 },
      pools: [{ subnet: '10.50.0.0/24', gateway: '10.50.0.1' }],
      options: {},
      pending: true,
    };
    records.save(half);
    const restarted = newService(h, { ipam: new Ipam() });
    assert.throws(() => restarted.find('half'), /network half not found/);
    await restarted.restore();
    assert.ok(h.driver.calls.includes('delete br-eeeeeeeeeeee'));
    assert.ok(!readdirSync(h.dir).includes(`${half.id}.json`));
  });

  test('a pending record whose host side cannot be undone is logged and dropped, and the engine starts', async () => {
    const records = new NetworkRecords(h.dir);
    const half: NetworkRecord = {
      ...service.find('bridge'),
      id: 'd'.repeat(64),
      name: 'half',
      bridge: { device: 'a#b', masquerade: true, mtu: 0 },
      pools: [{ subnet: '10.51.0.0/24', gateway: '10.51.0.1' }],
      options: {},
      pending: true,
    };
    records.save(half);
    const driver = new FakeNetworkDriver();
    driver.deleteNetwork = async (network) => {
      throw new Error(`invalid bridge name ${JSON.stringify(network.bridge)}`);
    };
    const lines: string[] = [];
    const sink = { write: (line: string) => void lines.push(line) };
    const restarted = newService(h, { ipam: new Ipam(), driver, logger: pino({ level: 'error' }, sink) });
    await restarted.restore();
    assert.deepEqual(restarted.list().map((r) => r.name).sort(), ['bridge', 'host', 'none']);
    assert.ok(!readdirSync(h.dir).includes(`${half.id}.json`), 'the record is gone, so the next start does not trip on it again');
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; network: string; bridge: string; err: { message: string } });
    assert.equal(logged.length, 1);
    assert.deepEqual([logged[0].network, logged[0].bridge, logged[0].err.message], ['half', 'a#b', 'invalid bridge name "a#b"']);
    assert.match(logged[0].msg, /could not remove what a network left/);
    const again = newService(h, { ipam: new Ipam() });
    await again.restore();
  });

  test('restore brings back user networks: pool, bridge, then DNS', async () => {
    const record = await service.create({ Name: 'n1' });
    const driver = new FakeNetworkDriver();
    const dns = new FakeNetworkDns();
    const ipam = new Ipam();
    const restarted = newService(h, { driver, dns, ipam });
    await restarted.restore();
    assert.deepEqual(driver.calls.sort(), ['create br-' + record.id.slice(0, 12), 'create wt0', 'init'].sort());
    assert.deepEqual(dns.calls, ['add 172.19.0.1']);
    assert.equal(ipam.allocate(record.id), '172.19.0.2');
  });

  test('remove refuses predefined and used networks, then undoes DNS, bridge and pool', async () => {
    const record = await service.create({ Name: 'n1' });
    await rejectsWith(service.remove('bridge'), 'permission-denied', 'bridge is a pre-defined network and cannot be removed');
    await rejectsWith(service.remove('none'), 'permission-denied', 'none is a pre-defined network and cannot be removed');
    h.endpoints.set(record.id, [{ containerId: 'c'.repeat(64), name: 'web', endpointId: 'abcdef0123456789', mac: '02:42:ac:13:00:02', ipv4Address: '172.19.0.2/16' }]);
    await rejectsWith(service.remove('n1'), 'permission-denied', 'error while removing network: network n1 has active endpoints (name:"web" id:"abcdef012345")');
    h.endpoints.clear();
    const seen: string[] = [];
    h.events.subscribe((e) => seen.push(`${e.Action} ${e.Actor.Attributes.name}`));
    await service.remove(record.id.slice(0, 12));
    assert.deepEqual(h.dns.calls.slice(-1), ['remove 172.19.0.1']);
    assert.equal(h.driver.calls.at(-1), `delete br-${record.id.slice(0, 12)}`);
    assert.throws(() => h.ipam.allocate(record.id), /has no address pool/);
    assert.deepEqual(seen, ['destroy n1']);
    await rejectsWith(service.remove('n1'), 'not-found', 'network n1 not found');
  });

  test('a removal the driver fails leaves the network listed, so rm can be retried', async () => {
    const record = await service.create({ Name: 'n1' });
    const deleteNetwork = h.driver.deleteNetwork.bind(h.driver);
    h.driver.deleteNetwork = async () => {
      throw new Error('ip: Device or resource busy');
    };
    await assert.rejects(service.remove('n1'), /resource busy/);
    assert.equal(service.find('n1').id, record.id);
    h.driver.deleteNetwork = deleteNetwork;
    await service.remove('n1');
    assert.throws(() => service.find('n1'), /not found/);
    assert.equal(readdirSync(h.dir).length, 3);
  });

  test('find: full ID, exact name, then a unique ID prefix', async () => {
    let n = 0;
    const ids = ['ab' + '1'.repeat(62), 'ab' + '2'.repeat(62)];
    // Its own records: the harness's default networks have random IDs, and one may start with `ab` too.
    const own = newService({ ...h, dir: join(h.dir, 'own') }, { ipam: new Ipam(), newId: () => ids[n++] ?? 'f'.repeat(64) });
    await own.create({ Name: 'one' });
    await own.create({ Name: ids[0].slice(0, 3) });
    assert.equal(own.find(ids[0]).name, 'one');
    assert.equal(own.find('ab1').id, ids[1], 'an exact name wins over an ID prefix');
    await rejectsWith(Promise.resolve().then(() => own.find('ab')), 'invalid-argument', 'network ab is ambiguous (2 matches found based on ID prefix)');
    await rejectsWith(Promise.resolve().then(() => own.find('zz')), 'not-found', 'network zz not found');
  });

  test('prune removes unused user networks the filter accepts', async () => {
    const used = await service.create({ Name: 'used' });
    await service.create({ Name: 'keep', Labels: { keep: '1' } });
    await service.create({ Name: 'idle' });
    h.endpoints.set(used.id, [{ containerId: 'c'.repeat(64), name: 'web', endpointId: 'e'.repeat(64), mac: '', ipv4Address: '' }]);
    const deleted = await service.prune((r) => r.labels.keep === undefined);
    assert.deepEqual(deleted, ['idle']);
    assert.deepEqual(service.list().map((r) => r.name).sort(), ['bridge', 'host', 'keep', 'none', 'used']);
  });

  test('connect and disconnect go to the container layer with the network record', async () => {
    await rejectsWith(service.connect('c1', 'bridge', {}), 'unavailable', /container layer is not ready/);
    const calls: string[] = [];
    service.setConnector({
      connect: async (container, network, config) => void calls.push(`connect ${container} ${network.name} ${config.Aliases?.join(',')}`),
      disconnect: async (container, network, force) => void calls.push(`disconnect ${container} ${network.name} ${force}`),
    });
    await service.create({ Name: 'n1' });
    await service.connect('c1', 'n1', { Aliases: ['db'] });
    await service.disconnect('c1', 'n1', true);
    assert.deepEqual(calls, ['connect c1 n1 db', 'disconnect c1 n1 true']);
    await rejectsWith(service.connect('c1', 'nope', {}), 'not-found', 'network nope not found');
  });

  test('concurrent creates of one name make one network', async () => {
    const results = await Promise.allSettled([service.create({ Name: 'same' }), service.create({ Name: 'same' })]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(service.list().filter((r) => r.name === 'same').length, 1);
  });

});
