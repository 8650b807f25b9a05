import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../../base/config.ts';
import { createLogger } from '../../base/log.ts';
import { makeTempDir, type TempDir } from '../../../test/support/temp.ts';
import { FakeNetworkDns, FakeNetworkDriver } from '../../../test/support/fake-network.ts';
import { EventLog } from '../events.ts';
import { Ipam } from '../networks/ipam.ts';
import { NetworkRecords } from '../networks/network-records.ts';
import { type NetworkEndpointInfo, NetworkService } from '../networks/network-service.ts';
import { createApiServer, type ApiServer } from './api-server.ts';
import { networkRoutes } from './network-routes.ts';
import { Router } from './router.ts';

// The network routes through the real dispatcher (schemas, error table) over a NetworkService whose driver and DNS
// are fakes (test/support/fake-network.ts says why); the e2e tests drive the same routes with the docker CLI.
describe('network routes', () => {
  const logger = createLogger({ level: 'silent' });
  const endpoints = new Map<string, NetworkEndpointInfo[]>();
  const connected: string[] = [];
  let temp: TempDir;
  let api: ApiServer;
  let base: string;

  before(async () => {
    temp = makeTempDir('wharf-network-routes-');
    const networks = new NetworkService({
      records: new NetworkRecords(temp.path),
      driver: new FakeNetworkDriver(),
      ipam: new Ipam(),
      dns: new FakeNetworkDns(),
      events: new EventLog(),
      logger,
      config: { ...configSchema.parse({}).engine.network, bridge: 'wt0' },
      hostRoutes: async () => [],
      deviceExists: () => false,
    });
    networks.setEndpoints((id) => endpoints.get(id) ?? []);
    networks.setConnector({
      connect: async (container, network, config) => void connected.push(`connect ${container} ${network.name} ${JSON.stringify(config)}`),
      disconnect: async (container, network, force) => void connected.push(`disconnect ${container} ${network.name} ${force}`),
    });
    await networks.restore();
    api = createApiServer({ router: new Router(networkRoutes({ networks })), logger, serverHeader: 'wharf-test' });
    api.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => api.server.once('listening', resolve));
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}/v1.44`;
  });
  after(async () => {
    await new Promise((resolve) => api.server.close(resolve));
    temp.remove();
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  // Answers are read field by field; each test names the shape it expects.
  type Json = Record<string, unknown> & { Id?: string; Containers?: unknown };

  const filters = (f: Record<string, string[]>) => `filters=${encodeURIComponent(JSON.stringify(f))}`;

  test('create answers 201 with the ID; inspect shows moby\'s shape with the containers on it', async () => {
    const created = await call('POST', '/networks/create', { Name: 'n1', Driver: 'bridge', IPAM: { Driver: 'default', Config: [{ Subnet: '10.60.0.0/24' }], Options: {} }, Labels: { team: 'a' }, Options: {} });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.deepEqual(Object.keys(created.json), ['Id', 'Warning']);
    assert.equal(created.json.Warning, '');
    const id = String(created.json.Id);
    endpoints.set(id, [{ containerId: 'c'.repeat(64), name: 'web', endpointId: 'e'.repeat(64), mac: '02:42:0a:3c:00:02', ipv4Address: '10.60.0.2/24' }]);
    const inspected = await call('GET', `/networks/${id.slice(0, 12)}?verbose=true`);
    assert.equal(inspected.status, 200);
    assert.deepEqual({ ...inspected.json, Created: undefined }, {
      Name: 'n1',
      Id: id,
      Created: undefined,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv4: true,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.60.0.0/24', Gateway: '10.60.0.1' }] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: { ['c'.repeat(64)]: { Name: 'web', EndpointID: 'e'.repeat(64), MacAddress: '02:42:0a:3c:00:02', IPv4Address: '10.60.0.2/24', IPv6Address: '' } },
      Options: {},
      Labels: { team: 'a' },
    });
    assert.ok(!Number.isNaN(Date.parse(String(inspected.json.Created))));
    const duplicate = await call('POST', '/networks/create', { Name: 'n1' });
    assert.deepEqual(duplicate, { status: 409, json: { message: 'network with name n1 already exists' } });
    assert.equal((await call('DELETE', '/networks/n1')).status, 403, 'a network with a container on it stays');
    endpoints.clear();
  });

  test('wrong input is refused with the dispatcher\'s 400 and moby\'s words', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/networks/create', { Name: 1 }, 'invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Name of type string'],
      ['POST', '/networks/create', { Name: 'x', Internal: 'yes' }, 'invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Internal of type bool'],
      ['POST', '/networks/create', { Name: 'x', IPAM: { Config: [{ Subnet: 5 }] } }, 'invalid JSON: json: cannot unmarshal number into Go struct field IPAMConfig.IPAM.Config.Subnet of type string'],
      ['GET', '/networks/bridge?verbose=maybe', undefined, 'invalid value for verbose: maybe: strconv.ParseBool: parsing "maybe": invalid syntax'],
      ['GET', `/networks?${filters({ type: ['odd'] })}`, undefined, "invalid filter: 'type'='odd'"],
      ['GET', `/networks?${filters({ dangling: ['maybe'] })}`, undefined, 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")'],
      ['GET', `/networks?${filters({ colour: ['red'] })}`, undefined, "invalid filter 'colour'"],
      ['POST', `/networks/prune?${filters({ until: ['1h', '2h'] })}`, undefined, 'more than one until filter specified'],
      ['POST', '/networks/n1/connect', { Container: ['c1'] }, 'invalid JSON: json: cannot unmarshal array into Go struct field ConnectOptions.Container of type string'],
      ['POST', '/networks/n1/disconnect', { Container: 'c1', Force: 'yes' }, 'invalid JSON: json: cannot unmarshal string into Go struct field DisconnectOptions.Force of type bool'],
      ['POST', '/networks/n1/connect', { Container: 'c1', EndpointConfig: { GwPriority: 1 } }, "GwPriority 1 is not supported: this engine takes the default gateway from the container's first network"],
      ['POST', '/networks/n1/connect', { Container: 'c1', EndpointConfig: { GwPriority: -5 } }, "GwPriority -5 is not supported: this engine takes the default gateway from the container's first network"],
      [
        'POST',
        '/networks/create',
        { Name: 'x', Options: { 'com.docker.network.bridge.name': 'a#b' } },
        'invalid com.docker.network.bridge.name "a#b": an interface name has 1 to 15 characters, letters, digits, "_", "." or "-", and starts with a letter or digit',
      ],
      ['POST', '/networks/create', { Name: 'x', IPAM: { Config: [{ Subnet: '0.0.0.0/0' }] } }, 'invalid subnet 0.0.0.0/0: a network cannot span every address'],
      ['POST', '/networks/create', { Name: 'x', IPAM: { Config: [{ Subnet: '127.0.0.0/8' }] } }, 'invalid subnet 127.0.0.0/8: it overlaps 127.0.0.0/8 (loopback), which no network may use'],
    ];
    for (const [method, path, body, message] of cases) {
      assert.deepEqual(await call(method, path, body), { status: 400, json: { message } }, `${method} ${path}`);
    }
  });

  test('list filters as moby does: type, driver, name as a pattern, label, dangling', async () => {
    await call('POST', '/networks/create', { Name: 'other', Labels: { team: 'b' } });
    const list = async (f: Record<string, string[]>) => (await call('GET', `/networks?${filters(f)}`)).json as unknown as Json[];
    const names = async (f: Record<string, string[]>) => (await list(f)).map((n) => String(n.Name)).sort();
    assert.deepEqual(await names({}), ['bridge', 'host', 'n1', 'none', 'other']);
    assert.deepEqual(await names({ type: ['custom'] }), ['n1', 'other']);
    assert.deepEqual(await names({ type: ['builtin'] }), ['bridge', 'host', 'none']);
    assert.deepEqual(await names({ driver: ['null'] }), ['none']);
    assert.deepEqual(await names({ name: ['^n'] }), ['n1', 'none']);
    assert.deepEqual(await names({ label: ['team=b'] }), ['other']);
    const n1 = String((await call('GET', '/networks/n1')).json.Id);
    endpoints.set(n1, [{ containerId: 'c'.repeat(64), name: 'web', endpointId: 'e'.repeat(64), mac: '', ipv4Address: '' }]);
    assert.deepEqual(await names({ dangling: ['true'] }), ['other']);
    assert.deepEqual(await names({ dangling: ['false'] }), ['bridge', 'host', 'n1', 'none']);
    endpoints.clear();
    assert.deepEqual((await list({})).find((n) => n.Name === 'n1')?.Containers, {}, 'the list leaves Containers empty, as moby');
    assert.ok((await list({})).every((n) => n.EnableIPv4 === true && n.EnableIPv6 === false), 'moby 28 shows EnableIPv4 on every network');
  });

  test('connect and disconnect reach the container layer; unknown networks are 404s', async () => {
    assert.equal((await call('POST', '/networks/n1/connect', { Container: 'c1', EndpointConfig: { Aliases: ['db'] } })).status, 200);
    assert.equal((await call('POST', '/networks/n1/disconnect', { Container: 'c1', Force: true })).status, 200);
    assert.equal((await call('POST', '/networks/n1/connect', { Container: 'c2', EndpointConfig: { GwPriority: 0 } })).status, 200, 'priority 0 is the default');
    assert.deepEqual(connected, ['connect c1 n1 {"Aliases":["db"]}', 'disconnect c1 n1 true', 'connect c2 n1 {"GwPriority":0}']);
    assert.deepEqual(await call('POST', '/networks/nope/connect', { Container: 'c1' }), { status: 404, json: { message: 'network nope not found' } });
    assert.deepEqual(await call('GET', '/networks/n1?scope=swarm'), { status: 404, json: { message: 'network n1 not found' } });
  });

  test('rm refuses the predefined networks; prune removes unused user networks by label and answers their names', async () => {
    assert.deepEqual(await call('DELETE', '/networks/host'), { status: 403, json: { message: 'host is a pre-defined network and cannot be removed' } });
    const pruned = await call('POST', `/networks/prune?${filters({ label: ['team=b'] })}`);
    assert.deepEqual(pruned, { status: 200, json: { NetworksDeleted: ['other'] } });
    assert.deepEqual(await call('POST', `/networks/prune?${filters({ until: ['2000-01-01T00:00:00Z'] })}`), { status: 200, json: { NetworksDeleted: null } });
    assert.equal((await call('DELETE', '/networks/n1')).status, 204);
    assert.deepEqual(await call('DELETE', '/networks/n1'), { status: 404, json: { message: 'network n1 not found' } });
  });
});
