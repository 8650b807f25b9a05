import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, waitFor } from '../support/ports.ts';
import { runOk } from '../support/run.ts';
import { hostIfname } from '../../src/engine/containers/container-networking.ts';
import { dockerChecks, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

/** The host's first non-loopback IPv4 address (published ports answer there too). */
function hostAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('10.'))?.address;
}

/**
 * What containers `ids` of this engine hold on the host: their veths on `networkIds`, their namespaces, and the
 * DNAT rules of the engine's own chains (other test files' engines run beside this one).
 */
async function hostFootprint(engine: TestEngine, ids: string[], networkIds: string[]): Promise<{ links: string[]; netns: string[]; rules: string[] }> {
  const instance = readFileSync(join(engine.root, 'engine', 'engine-id'), 'utf8').trim().slice(0, 8);
  const veths = new Set(ids.flatMap((id) => networkIds.map((n) => hostIfname(id, n))));
  const namespaces = new Set(ids.map((id) => `wharf-${id.slice(0, 12)}`));
  const links = (await runOk('ip', ['-br', 'link'])).split('\n').map((l) => l.split(/[\s@]/)[0]).filter((n) => veths.has(n));
  const netns = (await runOk('ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]).filter((n) => namespaces.has(n));
  const rules = (await runOk('iptables-save', [])).split('\n').filter((l) => l.startsWith(`-A WHARF-${instance}`) && l.includes('DNAT --to'));
  return { links, netns, rules };
}

const nothing = { links: [], netns: [], rules: [] };

/** One raw HTTP/1.0 GET on host:port; the whole answer. */
async function httpGet(host: string, port: number, path = '/'): Promise<string> {
  const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

/** Networking through the real docker CLI: the default bridge, published ports, user networks with DNS. */
describe('engine networking', () => {
  let engine: TestEngine;

  before(async () => {
    engine = await startTestEngineWithBusybox();
  });
  after(() => engine?.close());

  const { ok, fails, inspect } = dockerChecks(() => engine);
  const bridgeId = async () => ok('network', 'inspect', '-f', '{{.Id}}', 'bridge');
  /** A busybox httpd serving /www/index.html with `text`. */
  const httpd = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

  test('the default bridge: an address, a route out, /etc/hosts naming the container', async () => {
    const out = await ok('run', '--rm', '-h', 'box1', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route; cat /etc/hosts');
    const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
    assert.ok(address, out);
    assert.match(out, /default via \d+\.\d+\.\d+\.1 dev eth0/);
    assert.match(out, new RegExp(`${address.replace(/\./g, '\\.')}\\tbox1`));
    const gateway = JSON.parse(await ok('network', 'inspect', 'bridge'))[0].IPAM.Config[0].Gateway;
    assert.match(await ok('run', '--rm', '--add-host', 'gw:host-gateway', '--add-host', 'db:192.0.2.9', 'busybox', 'cat', '/etc/hosts'), new RegExp(`${gateway}\\tgw[\\s\\S]*192\\.0\\.2\\.9\\tdb`));
    const resolv = await ok('run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'ndots:2', 'busybox', 'cat', '/etc/resolv.conf');
    assert.match(resolv, /nameserver 192\.0\.2\.53/);
    assert.match(resolv, /search example\.test/);
    assert.match(resolv, /options ndots:2/);
  });

  test('-p HOST:CTR answers on 127.0.0.1 and the host\'s other address; docker port, ps and inspect show it', async () => {
    const port = await freePort();
    await ok('run', '-d', '--name', 'web', '-p', `${port}:80`, 'busybox', ...httpd('hello-web'));
    await waitFor('web', async () => (await httpGet('127.0.0.1', port)).includes('hello-web'), 10_000);
    const other = hostAddress();
    if (other) assert.match(await httpGet(other, port), /hello-web/);
    assert.equal(await ok('port', 'web'), `80/tcp -> 0.0.0.0:${port}`);
    assert.match(await ok('ps', '--filter', 'name=web', '--format', '{{.Ports}}'), new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp`));
    assert.deepEqual(await inspect('web', '.NetworkSettings.Ports'), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
    assert.deepEqual(await inspect('web', '.HostConfig.PortBindings'), { '80/tcp': [{ HostIp: '', HostPort: String(port) }] });
    // Another container reaches the published port through the host's address (hairpin).
    if (other) assert.match(await ok('run', '--rm', 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc ${other} ${port}`), /hello-web/);
    // A port already taken: moby's text, and the failed container holds nothing on the host.
    await fails(new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`), 'run', '-d', '--name', 'web2', '-p', `${port}:80`, 'busybox', 'sleep', '30');
    const web2 = await ok('inspect', '-f', '{{.Id}}', 'web2');
    const held = await hostFootprint(engine, [web2], [await bridgeId()]);
    assert.deepEqual({ ...held, rules: held.rules.filter((r) => r.includes(`--dport ${port} `)).length }, { ...nothing, rules: 1 });
    // --link on the default bridge: a hosts line, moby's environment, and the alias reaches the server.
    const linked = await ok('run', '--rm', '--link', 'web:w', 'busybox', 'sh', '-c', `grep -w w /etc/hosts; env | sort; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc w 80`);
    const webIp = await ok('inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web');
    assert.match(linked, new RegExp(`^${webIp.replace(/\./g, '\\.')}\\tw [0-9a-f]{12} web$`, 'm'));
    assert.match(linked, new RegExp(`^W_PORT_80_TCP=tcp://${webIp.replace(/\./g, '\\.')}:80$`, 'm'));
    assert.match(linked, /^W_NAME=\/[^/]+\/w$/m);
    assert.match(linked, /hello-web/);
    await ok('create', '--name', 'linker', '--link', 'web:w', 'busybox', 'true');
    assert.deepEqual(await inspect('linker', '.HostConfig.Links'), ['/web:/linker/w']);
    await fails(/conflicting options: host type networking can't be used with links/, 'create', '--network', 'host', '--link', 'web:w', 'busybox', 'true');
    await ok('rm', '-f', 'web', 'web2', 'linker');
  });

  test('-p CTR, -P, udp and a host IP: ephemeral ports as docker port shows them', async () => {
    const id = await ok('run', '-d', '-p', '80', '-p', '127.0.0.1::81/udp', '--expose', '90', '-P', 'busybox', ...httpd('eph'));
    const ports = await inspect(id, '.NetworkSettings.Ports');
    const tcp = Number(ports['80/tcp'][0].HostPort);
    assert.ok(tcp > 1024, JSON.stringify(ports));
    assert.equal(ports['81/udp'][0].HostIp, '127.0.0.1');
    assert.ok(Number(ports['90/tcp'][0].HostPort) > 1024);
    await waitFor('ephemeral port', async () => (await httpGet('127.0.0.1', tcp)).includes('eph'), 10_000);
    await ok('rm', '-f', id);
  });

  test('bad port specs are refused; ports with the host network are discarded with moby\'s warning', async () => {
    const host = await engine.docker(['run', '--rm', '--network', 'host', '-p', '8080:80', 'busybox', 'true']);
    assert.equal(host.code, 0, host.stderr);
    assert.match(host.stderr, /Published ports are discarded when using host network mode/);
    await fails(/invalid/i, 'run', '--rm', '-p', '65536:80', 'busybox', 'true');
    await fails(/invalid/i, 'run', '--rm', '-p', 'x:80', 'busybox', 'true');
  });

  test('a user network: containers resolve each other by name, alias and short ID; inspect lists them', async () => {
    const subnet = JSON.parse(await ok('network', 'inspect', 'bridge'))[0].IPAM.Config[0].Subnet as string;
    await ok('network', 'create', '--label', 'team=a', 'appnet');
    const db = await ok('run', '-d', '--name', 'db', '--network', 'appnet', '--network-alias', 'database', 'busybox', ...httpd('from-db'));
    const out = await ok('run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c',
      `for n in db database ${db.slice(0, 12)}; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc $n 80; done`);
    assert.equal(out.match(/from-db/g)?.length, 3, out);
    // A link on a user network is an alias for the linking container alone (moby's per-container resolver).
    assert.match(await ok('run', '--rm', '--network', 'appnet', '--link', 'db:primary', 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc primary 80`), /from-db/);
    assert.notEqual((await engine.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'nslookup', 'primary'])).code, 0);
    const net = JSON.parse(await ok('network', 'inspect', 'appnet'))[0];
    assert.equal(net.Containers[db].Name, 'db');
    assert.notEqual(net.IPAM.Config[0].Subnet, subnet);
    assert.deepEqual(net.Labels, { team: 'a' });
    assert.match(await ok('network', 'ls', '--filter', 'label=team=a', '--format', '{{.Name}}'), /^appnet$/);
    assert.match(await ok('ps', '--filter', 'network=appnet', '--format', '{{.Names}}'), /^db$/);
    // The default bridge has no embedded DNS (as moby): names do not resolve there.
    assert.notEqual((await engine.docker(['run', '--rm', 'busybox', 'nslookup', 'db'])).code, 0);
    await fails(/has active endpoints/, 'network', 'rm', 'appnet');
    await ok('rm', '-f', 'db');
    await ok('network', 'rm', 'appnet');
  });

  test('--ip, --mac-address, --network-alias on a user network with --subnet/--gateway/--ip-range', async () => {
    await ok('network', 'create', '--subnet', '10.250.77.0/24', '--gateway', '10.250.77.254', '--ip-range', '10.250.77.128/25', 'fixed');
    const out = await ok('run', '--rm', '--network', 'fixed', '--ip', '10.250.77.9', '--mac-address', '02:42:aa:bb:cc:dd', 'busybox', 'sh', '-c', 'ip -o addr show eth0; ip link show eth0; ip route');
    assert.match(out, /inet 10\.250\.77\.9\/24/);
    assert.match(out, /02:42:aa:bb:cc:dd/);
    assert.match(out, /default via 10\.250\.77\.254/);
    assert.match(await ok('run', '--rm', '--network', 'fixed', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0'), /inet 10\.250\.77\.(12[89]|1[3-9]\d|2\d\d)\//);
    await fails(/user specified IP address is supported on user defined networks only/, 'run', '--rm', '--ip', '10.1.1.1', 'busybox', 'true');
    const before = await ok('ps', '-aq');
    await fails(/no configured subnet or ip-range contain the IP address 10\.9\.9\.9/, 'run', '-d', '--network', 'fixed', '--ip', '10.9.9.9', 'busybox', 'true');
    assert.equal(await ok('ps', '-aq'), before, 'refused at create: no container left');
    await fails(/Pool overlaps with other one on this address space/, 'network', 'create', '--subnet', '10.250.77.0/25', 'overlap');
    await fails(/invalid|CIDR/i, 'network', 'create', '--subnet', '10.250.300.0/24', 'badcidr');
    await fails(/network with name fixed already exists/, 'network', 'create', 'fixed');
    await ok('network', 'rm', 'fixed');
  });

  test('connect and disconnect a running container; --network container: shares the namespace', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    await ok('network', 'create', 'side');
    await ok('run', '-d', '--name', 'peer', '--network', 'side', 'busybox', ...httpd('peer-page'));
    await ok('run', '-d', '--name', 'mover', 'busybox', 'sleep', '300');
    assert.notEqual((await engine.docker(['exec', 'mover', 'nslookup', 'peer'])).code, 0);
    await ok('network', 'connect', '--alias', 'mv', 'side', 'mover');
    assert.match(await ok('exec', 'mover', 'sh', '-c', 'ip -o -4 addr show eth1'), /inet /);
    assert.ok(Object.keys(await inspect('mover', '.NetworkSettings.Networks')).includes('side'));
    assert.match(await ok('exec', 'peer', 'sh', '-c', 'ping -c1 -W2 mv >/dev/null && echo reached'), /reached/);
    // Its resolv.conf was rewritten in place: it now resolves the network's names too.
    assert.match(await ok('exec', 'mover', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc peer 80`), /peer-page/);
    await ok('network', 'disconnect', 'side', 'mover');
    assert.doesNotMatch(await ok('exec', 'mover', 'ip', '-o', 'link'), /eth1/);
    assert.notEqual((await engine.docker(['exec', 'mover', 'nslookup', 'peer'])).code, 0);
    // container:peer: the same interfaces, so httpd answers on its localhost.
    assert.match(await ok('run', '--rm', '--network', 'container:peer', 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80`), /peer-page/);
    await ok('rm', '-f', 'peer', 'mover');
    await ok('network', 'rm', 'side');
    const events = await ok('events', '--since', since, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', 'network=side', '--format', '{{.Type}} {{.Action}}');
    for (const action of ['create', 'connect', 'disconnect', 'destroy']) assert.match(events, new RegExp(`^network ${action}$`, 'm'));
    assert.doesNotMatch(events, /^container /m, 'the network filter keeps network events only');
  });

  test('an unknown network is refused at create and leaves no container', async () => {
    const before = await ok('ps', '-aq');
    await fails(/network nosuchnet not found/, 'run', '-d', '--network', 'nosuchnet', 'busybox', 'true');
    assert.equal(await ok('ps', '-aq'), before);
  });

  test('stop, kill, rm -f and a crashing container release veths, namespaces and port rules', async () => {
    const port = await freePort();
    const runs = [
      await ok('run', '-d', '-p', `${port}:80`, 'busybox', ...httpd('x')),
      await ok('run', '-d', 'busybox', 'sleep', '300'),
      // Crashes once told to, after the footprint is taken (a fixed delay could pass first on a loaded machine).
      await ok('run', '-d', 'busybox', 'sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 3'),
    ];
    const bridge = [await bridgeId()];
    const held = await hostFootprint(engine, runs, bridge);
    assert.equal(held.netns.length, 3, JSON.stringify(held));
    assert.equal(held.rules.length, 1, JSON.stringify(held));
    await ok('stop', '-t', '1', runs[0]);
    await ok('kill', runs[1]);
    await ok('exec', runs[2], 'touch', '/tmp/go');
    assert.equal(await ok('wait', runs[2]), '3');
    assert.deepEqual(await hostFootprint(engine, runs, bridge), nothing);
    // The freed port can be published again.
    await ok('start', runs[0]);
    await waitFor('restarted web', async () => (await httpGet('127.0.0.1', port)).includes('x'), 10_000);
    await ok('rm', '-f', ...runs);
    assert.deepEqual(await hostFootprint(engine, runs, bridge), nothing);
  });
});
