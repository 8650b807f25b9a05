import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../base/log.ts';
import { runOk } from '../../../test/support/run.ts';
import { frame } from './dns-forwarder.ts';
import { aRecord, buildMessage, buildReply, dnsRcodes, dnsTypes, parseMessage, type DnsMessage } from './dns-message.ts';
import { EmbeddedDns } from './embedded-dns.ts';

const logger = createLogger({ level: 'silent' });
/** Any 127/8 address is the host's own: a random one per run keeps parallel test runs apart. */
const base = `127.77.${randomInt(1, 255)}`;
const gateway1 = `${base}.1`;
const gateway2 = `${base}.2`;
const upstreamAddress = `${base}.3`;
const blackHoleAddress = `${base}.4`;
/** A container's own `--dns` resolver. */
const ownUpstreamAddress = `${base}.10`;
/** Where the clients ask from: inside every test network's subnet. */
const clientAddress = `${base}.100`;
/** net1 spans the whole loopback because busybox nslookup cannot choose its source (it asks from 127.0.0.1). */
const subnet1 = '127.0.0.0/8';
const localSubnet = `${base}.0/24`;
/** On the host's loopback, but outside `localSubnet`. */
const outsideAddress = `127.78.${base.split('.')[2]}.100`;
const webId = 'a1b2c3d4e5f6' + '0'.repeat(52);
const dbId = 'f'.repeat(64);
const net1 = 'n'.repeat(64);
const net2 = 'm'.repeat(64);

/** A resolver asking `server` from `from` (a local address: any 127/8 one is the host's). */
function resolverFor(server: string, from = clientAddress, timeout = 3000): dnsPromises.Resolver {
  const resolver = new dnsPromises.Resolver({ timeout, tries: 1 });
  resolver.setServers([server]);
  resolver.setLocalAddress(from);
  return resolver;
}

function query(name: string, options: { id?: number; type?: number } = {}): DnsMessage {
  return {
    header: { id: options.id ?? 0x4242, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0 },
    questions: [{ name, type: options.type ?? dnsTypes.A, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

/** Sends raw bytes over UDP and gives back the first answer, or undefined after `timeoutMs`. */
async function rawUdp(server: string, bytes: Uint8Array, timeoutMs = 3000, from = clientAddress): Promise<DnsMessage | undefined> {
  const socket = createSocket('udp4');
  try {
    socket.bind(0, from);
    await once(socket, 'listening');
    const answer = once(socket, 'message', { signal: AbortSignal.timeout(timeoutMs) }).then(([m]) => parseMessage(m), () => undefined);
    socket.send(bytes, 53, server);
    return await answer;
  } finally {
    socket.close();
  }
}

/** One length-prefixed query over TCP. */
async function rawTcp(server: string, message: DnsMessage, from = clientAddress): Promise<DnsMessage> {
  const socket = connect({ host: server, port: 53, localAddress: from });
  await once(socket, 'connect');
  socket.write(frame(buildMessage(message)));
  let received = Buffer.alloc(0);
  for await (const chunk of socket) {
    received = Buffer.concat([received, chunk]);
    if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) break;
  }
  socket.destroy();
  return parseMessage(received.subarray(2, 2 + received.readUInt16BE(0)));
}

/** An upstream resolver over UDP and TCP: `outside.example` is `outside` (192.0.2.7), every other name NXDOMAIN. */
async function startFakeUpstream(address: string, outside = '192.0.2.7'): Promise<{ queries: string[]; close: () => Promise<void> }> {
  const queries: string[] = [];
  const answer = (bytes: Uint8Array) => {
    const q = parseMessage(bytes);
    queries.push(q.questions[0].name);
    const known = q.questions[0].name.toLowerCase() === 'outside.example';
    return buildMessage(buildReply(q, known ? { rcode: 0, answers: [aRecord(q.questions[0].name, outside, 60)] } : { rcode: dnsRcodes.NXDOMAIN }));
  };
  const udp = createSocket('udp4');
  udp.on('message', (m, peer) => udp.send(answer(m), peer.port, peer.address));
  udp.bind(53, address);
  const tcp: Server = createServer((socket) => socket.once('data', (d) => socket.end(frame(answer(d.subarray(2))))));
  tcp.listen(53, address);
  await Promise.all([once(udp, 'listening'), once(tcp, 'listening')]);
  const close = async () => {
    await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
  };
  return { queries, close };
}

describe('the embedded DNS', { timeout: 60_000 }, () => {
  let dns: EmbeddedDns;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let ownUpstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let blackHole: UdpSocket;
  let upstreams = [upstreamAddress];

  before(async () => {
    upstream = await startFakeUpstream(upstreamAddress);
    ownUpstream = await startFakeUpstream(ownUpstreamAddress, '192.0.2.99');
    blackHole = createSocket('udp4');
    blackHole.bind(53, blackHoleAddress);
    await once(blackHole, 'listening');
    dns = new EmbeddedDns({ logger, upstreams: () => upstreams, forwardTimeoutMs: 500, tcpIdleTimeoutMs: 300 });
    await dns.addNetwork(net1, gateway1, { name: 'appnet', subnet: subnet1 });
    await dns.addNetwork(net2, gateway2, { subnet: localSubnet });
    dns.register(net1, webId, ['web', 'frontend'], '10.88.0.2');
    dns.register(net2, dbId, ['db'], '10.99.0.2');
  });
  after(async () => {
    await dns.close();
    await upstream.close();
    await ownUpstream.close();
    blackHole.close();
  });

  test('a container name, an alias and a short ID resolve for node and busybox', async () => {
    const resolver = resolverFor(gateway1);
    for (const name of ['web', 'frontend', webId.slice(0, 12), 'web.appnet']) assert.deepEqual(await resolver.resolve4(name), ['10.88.0.2'], name);
    const out = await runOk('/bin/busybox', ['nslookup', 'frontend', gateway1]);
    assert.match(out, /Name:\s+frontend\s+Address:\s+10\.88\.0\.2/);
  });

  test('names are matched case-insensitively, with or without the trailing dot', async () => {
    const resolver = resolverFor(gateway1);
    assert.deepEqual(await resolver.resolve4('WeB'), ['10.88.0.2']);
    assert.deepEqual(await resolver.resolve4('FrontEnd.'), ['10.88.0.2']);
    const reply = await rawUdp(gateway1, buildMessage(query('WEB.')));
    assert.deepEqual([...reply!.answers[0].data], [10, 88, 0, 2]);
  });

  test('AAAA for a container name is NOERROR without records, not forwarded', async () => {
    const before = upstream.queries.length;
    const reply = await rawUdp(gateway1, buildMessage(query('web', { type: dnsTypes.AAAA })));
    assert.equal(reply!.header.rcode, dnsRcodes.NOERROR);
    assert.deepEqual(reply!.answers, []);
    await assert.rejects(resolverFor(gateway1).resolve6('web'), { code: 'ENODATA' });
    assert.equal(upstream.queries.length, before);
  });

  test('a reverse lookup of a container address names the container on its network', async () => {
    assert.deepEqual(await resolverFor(gateway1).reverse('10.88.0.2'), ['web.appnet']);
    assert.deepEqual(await resolverFor(gateway2).reverse('10.99.0.2'), ['db']);
  });

  test('unknown names are forwarded upstream and answered with the client ID; upstream NXDOMAIN passes through', async () => {
    assert.deepEqual(await resolverFor(gateway1).resolve4('outside.example'), ['192.0.2.7']);
    const reply = await rawUdp(gateway1, buildMessage(query('outside.example', { id: 0x0bad })));
    assert.equal(reply!.header.id, 0x0bad);
    await assert.rejects(resolverFor(gateway1).resolve4('nowhere.example'), { code: 'ENOTFOUND' });
    // moby forwards single-label names too (resolver.go forwards unless the container set ndots explicitly).
    await assert.rejects(resolverFor(gateway1).resolve4('nosuchcontainer'), { code: 'ENOTFOUND' });
    assert.ok(upstream.queries.includes('nosuchcontainer'));
  });

  test("another network's names are not visible", async () => {
    await assert.rejects(resolverFor(gateway1).resolve4('db'), { code: 'ENOTFOUND' });
    await assert.rejects(resolverFor(gateway2).resolve4('web'), { code: 'ENOTFOUND' });
    assert.deepEqual(await resolverFor(gateway2).resolve4('db'), ['10.99.0.2']);
  });

  test('a name two containers hold answers both addresses, rotated', async () => {
    const other = '0123456789ab' + '1'.repeat(52);
    dns.register(net1, other, ['worker', 'frontend'], '10.88.0.3');
    try {
      const first = await resolverFor(gateway1).resolve4('frontend');
      const second = await resolverFor(gateway1).resolve4('frontend');
      assert.deepEqual([...first].sort(), ['10.88.0.2', '10.88.0.3']);
      assert.notDeepEqual(first, second);
    } finally {
      dns.unregister(net1, other);
    }
  });

  test('unregister removes the names; the name is then forwarded', async () => {
    dns.register(net1, 'c'.repeat(64), ['temp'], '10.88.0.9');
    assert.deepEqual(await resolverFor(gateway1).resolve4('temp'), ['10.88.0.9']);
    dns.unregister(net1, 'c'.repeat(64));
    await assert.rejects(resolverFor(gateway1).resolve4('temp'), { code: 'ENOTFOUND' });
  });

  test('TCP queries are answered locally and forwarded over TCP', async () => {
    const local = await rawTcp(gateway1, query('web', { id: 7 }));
    assert.equal(local.header.id, 7);
    assert.deepEqual([...local.answers[0].data], [10, 88, 0, 2]);
    const forwarded = await rawTcp(gateway1, query('outside.example', { id: 8 }));
    assert.equal(forwarded.header.id, 8);
    assert.deepEqual([...forwarded.answers[0].data], [192, 0, 2, 7]);
  });

  test('an answer too big for UDP is truncated and the client gets it whole over TCP', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `${String(i).padStart(12, '0')}${'2'.repeat(52)}`);
    ids.forEach((id, i) => dns.register(net1, id, ['many'], `10.88.1.${i + 1}`));
    try {
      const udp = await rawUdp(gateway1, buildMessage(query('many')));
      assert.ok(udp!.header.tc && udp!.answers.length < 60);
      assert.equal((await resolverFor(gateway1).resolve4('many')).length, 60);
    } finally {
      for (const id of ids) dns.unregister(net1, id);
    }
  });

  test('with the upstream down the answer is SERVFAIL within the timeout; with none, at once', async () => {
    upstreams = [blackHoleAddress];
    try {
      const started = Date.now();
      await assert.rejects(resolverFor(gateway1).resolve4('outside.example'), { code: 'ESERVFAIL' });
      assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
      upstreams = [blackHoleAddress, upstreamAddress];
      assert.deepEqual(await resolverFor(gateway1).resolve4('outside.example'), ['192.0.2.7']);
      upstreams = [];
      await assert.rejects(resolverFor(gateway1).resolve4('outside.example'), { code: 'ESERVFAIL' });
    } finally {
      upstreams = [upstreamAddress];
    }
  });

  test('malformed packets get FORMERR or nothing, and the server answers afterwards', async () => {
    const garbage = [
      new Uint8Array(0),
      Uint8Array.from([1, 2, 3]),
      Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]),
      Uint8Array.from([0, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 0x61]),
      new Uint8Array(4000).fill(0xc0),
    ];
    for (const bytes of garbage) {
      const reply = await rawUdp(gateway1, bytes, 200);
      if (reply !== undefined) assert.equal(reply.header.rcode, dnsRcodes.FORMERR);
    }
    const tcp = connect({ host: gateway1, port: 53, localAddress: clientAddress });
    await once(tcp, 'connect');
    tcp.end(Buffer.from([0, 3, 1, 2, 3, 0xff, 0xff, 9]));
    await once(tcp, 'close');
    assert.deepEqual(await resolverFor(gateway1).resolve4('web'), ['10.88.0.2']);
  });

  test('an idle TCP connection is closed', async () => {
    const socket = connect({ host: gateway1, port: 53, localAddress: clientAddress });
    await once(socket, 'connect');
    const started = Date.now();
    await once(socket, 'close');
    assert.ok(Date.now() - started < 2000);
  });

  test('forwards in flight are bounded: beyond the limit queries are REFUSED at once', async () => {
    const bounded = new EmbeddedDns({ logger, upstreams: () => [blackHoleAddress], forwardTimeoutMs: 1000, maxInFlight: 4 });
    const address = `${base}.5`;
    await bounded.addNetwork(net1, address, { subnet: localSubnet });
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => rawUdp(address, buildMessage(query(`q${i}.example`, { id: i })), 3000)));
      const rcodes = replies.map((r) => r?.header.rcode);
      assert.equal(rcodes.filter((c) => c === dnsRcodes.REFUSED).length, 16, String(rcodes));
      assert.equal(rcodes.filter((c) => c === dnsRcodes.SERVFAIL).length, 4, String(rcodes));
    } finally {
      await bounded.close();
    }
  });

  test('TCP connections beyond the limit are closed at once', async () => {
    const limited = new EmbeddedDns({ logger, upstreams: () => [], maxTcpConnections: 2 });
    const address = `${base}.7`;
    await limited.addNetwork(net1, address, { subnet: localSubnet });
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        sockets.push(connect({ host: address, port: 53, localAddress: clientAddress }));
        await once(sockets[i], 'connect');
      }
      sockets.push(connect({ host: address, port: 53, localAddress: clientAddress }));
      await once(sockets[2], 'close', { signal: AbortSignal.timeout(2000) });
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(!sockets[0].destroyed && !sockets[1].destroyed);
    } finally {
      for (const socket of sockets) socket.destroy();
      await limited.close();
    }
  });

  test('sources outside the subnet get no answer over UDP or TCP and nothing is forwarded for them; inside ones do', async () => {
    const forwardedBefore = upstream.queries.length;
    for (const from of [outsideAddress, '127.0.0.1']) {
      await assert.rejects(resolverFor(gateway2, from, 500).resolve4('db'), { code: 'ETIMEOUT' }, from);
      await assert.rejects(resolverFor(gateway2, from, 500).resolve4('outside.example'), { code: 'ETIMEOUT' }, from);
      assert.equal(await rawUdp(gateway2, buildMessage(query('db')), 300, from), undefined, from);
      const tcp = connect({ host: gateway2, port: 53, localAddress: from });
      tcp.on('error', () => {});
      tcp.write(frame(buildMessage(query('db'))));
      const received: Buffer[] = [];
      tcp.on('data', (chunk: Buffer) => received.push(chunk));
      await once(tcp, 'close', { signal: AbortSignal.timeout(2000) });
      assert.deepEqual(received, [], from);
    }
    assert.equal(upstream.queries.length, forwardedBefore);
    assert.deepEqual(await resolverFor(gateway2, `${base}.200`).resolve4('db'), ['10.99.0.2']);
    assert.deepEqual(await resolverFor(gateway2).resolve4('outside.example'), ['192.0.2.7']);
    assert.equal((await rawTcp(gateway2, query('db', { id: 9 }))).header.id, 9);
  });

  test("a container's own upstreams answer its forwarded queries, over UDP and TCP, until it is unregistered", async () => {
    const custom = `${base}.101`;
    const id = 'd'.repeat(64);
    dns.register(net2, id, ['custom'], custom, { upstreams: [ownUpstreamAddress] });
    try {
      assert.deepEqual(await resolverFor(gateway2, custom).resolve4('outside.example'), ['192.0.2.99']);
      const tcp = await rawTcp(gateway2, query('outside.example', { id: 11 }), custom);
      assert.equal(tcp.header.id, 11);
      assert.deepEqual([...tcp.answers[0].data], [192, 0, 2, 99]);
      assert.deepEqual(await resolverFor(gateway2, custom).resolve4('db'), ['10.99.0.2'], 'local names stay local');
      assert.deepEqual(await resolverFor(gateway2).resolve4('outside.example'), ['192.0.2.7'], 'other containers keep the host resolvers');
      await assert.rejects(resolverFor(gateway2, custom).resolve4('nowhere.example'), { code: 'ENOTFOUND' });
      assert.ok(ownUpstream.queries.includes('nowhere.example'));
      dns.register(net2, id, ['custom'], custom, { upstreams: [] });
      assert.deepEqual(await resolverFor(gateway2, custom).resolve4('outside.example'), ['192.0.2.7'], 'empty: the host resolvers');
    } finally {
      dns.unregister(net2, id);
    }
    assert.deepEqual(await resolverFor(gateway2, custom).resolve4('outside.example'), ['192.0.2.7']);
  });

  test("a container's upstreams follow the same fallthrough and timeout as the host's", async () => {
    const custom = `${base}.102`;
    const id = 'e'.repeat(64);
    try {
      dns.register(net2, id, ['custom'], custom, { upstreams: [blackHoleAddress, `${ownUpstreamAddress}:53`] });
      assert.deepEqual(await resolverFor(gateway2, custom).resolve4('outside.example'), ['192.0.2.99']);
      dns.register(net2, id, ['custom'], custom, { upstreams: [blackHoleAddress] });
      const started = Date.now();
      await assert.rejects(resolverFor(gateway2, custom).resolve4('outside.example'), { code: 'ESERVFAIL' });
      assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
      // Its own gateway would loop: skipped like the host's, so nothing is left to ask.
      dns.register(net2, id, ['custom'], custom, { upstreams: [gateway2] });
      await assert.rejects(resolverFor(gateway2, custom).resolve4('outside.example'), { code: 'ESERVFAIL' });
    } finally {
      dns.unregister(net2, id);
    }
  });

  test('a link alias resolves to its target for the linking container only, by name or ID, at query time', async () => {
    const linker = `${base}.103`;
    const linkerId = '3'.repeat(64);
    const workerId = '4'.repeat(64);
    dns.register(net1, workerId, ['worker'], '10.88.0.3');
    dns.register(net1, linkerId, ['linker'], linker, { aliases: { database: 'web', Byid: webId, frontend: '/worker', gone: 'nosuch' } });
    try {
      const asLinker = resolverFor(gateway1, linker);
      for (const name of ['database', 'DATABASE.', 'database.appnet', 'byid']) assert.deepEqual(await asLinker.resolve4(name), ['10.88.0.2'], name);
      assert.deepEqual(await asLinker.resolve4('frontend'), ['10.88.0.3'], 'the alias comes before a name, as moby');
      assert.deepEqual(await resolverFor(gateway1).resolve4('frontend'), ['10.88.0.2']);
      await assert.rejects(resolverFor(gateway1).resolve4('database'), { code: 'ENOTFOUND' }, 'not for other containers');
      await assert.rejects(asLinker.resolve4('gone'), { code: 'ENOTFOUND' }, 'a missing target falls through to forwarding');
      dns.register(net1, webId, ['web', 'frontend'], '10.88.0.7');
      assert.deepEqual(await asLinker.resolve4('database'), ['10.88.0.7'], 'follows the target');
      dns.unregister(net1, webId);
      await assert.rejects(asLinker.resolve4('database'), { code: 'ENOTFOUND' });
    } finally {
      dns.register(net1, webId, ['web', 'frontend'], '10.88.0.2');
      dns.unregister(net1, linkerId);
      dns.unregister(net1, workerId);
    }
    await assert.rejects(resolverFor(gateway1, linker).resolve4('database'), { code: 'ENOTFOUND' }, 'unregister drops the aliases');
  });

  test('register refuses an upstream that is not an address and an incomplete link alias', () => {
    for (const upstreams of [['dns.example'], ['10.0.0.1:99999'], ['']]) {
      assert.throws(() => dns.register(net1, webId, ['web'], '10.88.0.2', { upstreams }), { kind: 'invalid-argument' }, String(upstreams));
    }
    const incomplete: Record<string, string>[] = [{ '': 'web' }, { db: '' }, { db: '/' }];
    for (const aliases of incomplete) {
      assert.throws(() => dns.register(net1, webId, ['web'], '10.88.0.2', { aliases }), { kind: 'invalid-argument' }, JSON.stringify(aliases));
    }
  });

  test('a refused registration leaves the earlier one in place', async () => {
    assert.throws(() => dns.register(net1, webId, ['renamed'], '10.88.0.2', { upstreams: ['nope'] }), { kind: 'invalid-argument' });
    assert.deepEqual(await resolverFor(gateway1).resolve4('web'), ['10.88.0.2']);
  });

  test('addNetwork is idempotent, refuses another gateway or subnet for the same network, and removeNetwork frees the port', async () => {
    await dns.addNetwork(net1, gateway1, { name: 'appnet', subnet: subnet1 });
    await assert.rejects(dns.addNetwork(net1, `${base}.9`, { subnet: subnet1 }), { kind: 'conflict' });
    await assert.rejects(dns.addNetwork(net1, gateway1, { subnet: localSubnet }), { kind: 'conflict' });
    const other = new EmbeddedDns({ logger, upstreams: () => [] });
    await assert.rejects(other.addNetwork('x', gateway1, { subnet: localSubnet }), { kind: 'unavailable' });
    for (const subnet of ['', '10.0.0.0', '10.0.0.0/33', 'fd00::/64']) {
      await assert.rejects(other.addNetwork('x', `${base}.6`, { subnet }), { kind: 'invalid-argument' }, subnet);
    }
    const address = `${base}.6`;
    await other.addNetwork('x', address, { subnet: localSubnet });
    await other.removeNetwork('x');
    await other.addNetwork('x', address, { subnet: localSubnet });
    await other.close();
    assert.throws(() => dns.register('nosuch', webId, ['web'], '10.0.0.1'), { kind: 'not-found' });
    assert.throws(() => dns.register(net1, webId, ['web'], '10.0.0'), { kind: 'invalid-argument' });
  });
});
