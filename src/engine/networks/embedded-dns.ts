/*
 * The engine's embedded DNS for user-defined networks: one UDP and one TCP listener on each network's gateway
 * address, in the engine process. It answers the network's container names, aliases and short IDs (A), their
 * addresses (PTR), and forwards everything else to the host's resolvers, as moby's resolver does
 * (daemon/libnetwork/resolver.go). Every packet comes from a container: nothing a client sends may throw out of
 * a listener, and memory stays bounded under a flood (forwards in flight, TCP connections, idle TCP timeout).
 * Only the network's own subnet is answered: a gateway address is reachable from other networks, the host's
 * other containers and other machines, which must neither read the network's names nor use us as an open
 * forwarder (moby's resolver listens inside each container's namespace, so it has nobody else to refuse).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { containsAddress, parseCidr, parseIpv4, type Ipv4Prefix } from './cidr.ts';
import { answerLocally, triage } from './dns-answer.ts';
import { DnsForwarder, frame, parseUpstream, type DnsTransport, type Upstream } from './dns-forwarder.ts';
import { buildBounded, buildMessage, buildReply, dnsRcodes, udpSizeOf } from './dns-message.ts';
import { DnsNameTable, type DnsClientSettings } from './dns-name-table.ts';
import { hostResolvers } from './host-resolvers.ts';

export interface EmbeddedDnsOptions {
  logger: Logger;
  /** Upstream resolvers (`ip` or `ip:port`); default: the nameservers of the host's /etc/resolv.conf. */
  upstreams?: () => string[];
  /** Default 53; tests may pick another. */
  port?: number;
  /** Per upstream; default 2000. */
  forwardTimeoutMs?: number;
  /** Forwards in flight across all networks; beyond it a query is REFUSED (moby: 1024). Default 1024. */
  maxInFlight?: number;
  /** A TCP connection with no complete query for this long is closed (miekg/dns's idle timeout). Default 8000. */
  tcpIdleTimeoutMs?: number;
  /** TCP connections per network; more are closed at once. Default 64. */
  maxTcpConnections?: number;
}

interface NetworkListener {
  gateway: string;
  /** As given, to tell a repeated addNetwork from a conflicting one. */
  subnetText: string;
  /** Only sources inside it are answered. */
  subnet: Ipv4Prefix;
  table: DnsNameTable;
  udp: UdpSocket;
  tcp: Server;
  connections: Set<Socket>;
  closed: boolean;
}

/** Bytes queued for a slow TCP reader before we stop reading its queries. */
const tcpWriteBacklog = 256 * 1024;

export class EmbeddedDns {
  readonly #logger: Logger;
  readonly #port: number;
  readonly #tcpIdleTimeoutMs: number;
  readonly #maxTcpConnections: number;
  readonly #forwarder: DnsForwarder;
  readonly #networks = new Map<string, NetworkListener>();
  #rotation = 0;
  #lastBusyLog = 0;

  constructor(options: EmbeddedDnsOptions) {
    this.#logger = options.logger;
    this.#port = options.port ?? 53;
    this.#tcpIdleTimeoutMs = options.tcpIdleTimeoutMs ?? 8000;
    this.#maxTcpConnections = options.maxTcpConnections ?? 64;
    this.#forwarder = new DnsForwarder({
      logger: options.logger,
      upstreams: options.upstreams ?? hostResolvers(),
      timeoutMs: options.forwardTimeoutMs,
      maxInFlight: options.maxInFlight,
      isOwnAddress: (u) => this.#isOwnAddress(u),
    });
  }

  /**
   * Listens on `gateway`:port (UDP and TCP); the address must already be on a host device. Idempotent for the
   * same gateway and subnet. `name` (the network's name) makes `container.<name>` resolve and names PTR answers,
   * as moby. `subnet` (a CIDR): packets and connections from sources outside it are dropped without an answer.
   */
  async addNetwork(networkId: string, gateway: string, options: { name?: string; subnet: string }): Promise<void> {
    const subnet = parseCidr(options.subnet);
    if (subnet === undefined) throw new Fault('invalid-argument', `embedded DNS: network ${networkId} has no valid IPv4 subnet: ${JSON.stringify(options.subnet)}`);
    const existing = this.#networks.get(networkId);
    if (existing !== undefined && existing.gateway === gateway && existing.subnetText === options.subnet) return;
    if (existing !== undefined) {
      throw new Fault('conflict', `embedded DNS for network ${networkId} already listens on ${existing.gateway} for ${existing.subnetText}, not ${gateway} for ${options.subnet}`);
    }
    const network: NetworkListener = {
      gateway,
      subnetText: options.subnet,
      subnet,
      table: new DnsNameTable(options.name),
      udp: createSocket({ type: 'udp4' }),
      tcp: createServer(),
      connections: new Set(),
      closed: false,
    };
    try {
      await this.#listen(network);
    } catch (err) {
      await closeListener(network);
      throw new Fault('unavailable', `embedded DNS for network ${networkId} cannot listen on ${gateway}:${this.#port}: ${(err as Error).message}`, { cause: err });
    }
    this.#networks.set(networkId, network);
  }

  async #listen(network: NetworkListener): Promise<void> {
    const { udp, tcp, gateway } = network;
    udp.bind({ address: gateway, port: this.#port, exclusive: true });
    await once(udp, 'listening');
    udp.on('error', (err) => this.#logger.warn({ err, gateway }, 'embedded DNS: UDP socket error'));
    udp.on('message', (message, peer) => this.#onUdp(network, message, peer));
    tcp.listen({ host: gateway, port: this.#port, exclusive: true });
    await once(tcp, 'listening');
    tcp.on('error', (err) => this.#logger.warn({ err, gateway }, 'embedded DNS: TCP listener error'));
    tcp.on('connection', (socket) => this.#onTcp(network, socket));
  }

  /** Stops answering for `networkId`; unknown networks are ignored. */
  async removeNetwork(networkId: string): Promise<void> {
    const network = this.#networks.get(networkId);
    if (network === undefined) return;
    this.#networks.delete(networkId);
    await closeListener(network);
  }

  /**
   * `names`: the container's name first, then its aliases; its 12-character short ID answers too. Queries sent
   * from `address` are forwarded to `settings.upstreams` (its `--dns`; none or empty: the host's resolvers) and
   * see `settings.aliases` (its links). Upstreams are asked from the engine, in the host's namespace: a loopback
   * one is the host's, where moby would ask the container's own loopback. Replaces an earlier registration.
   */
  register(networkId: string, containerId: string, names: string[], address: string, settings: DnsClientSettings = {}): void {
    const network = this.#networks.get(networkId);
    if (network === undefined) throw new Fault('not-found', `embedded DNS has no network ${networkId}`);
    if (isIP(address) !== 4) throw new Fault('invalid-argument', `embedded DNS: ${JSON.stringify(address)} is not an IPv4 address`);
    checkSettings(containerId, settings);
    network.table.set(containerId, names, address, settings);
  }

  unregister(networkId: string, containerId: string): void {
    this.#networks.get(networkId)?.table.delete(containerId);
  }

  async close(): Promise<void> {
    this.#forwarder.close();
    const networks = [...this.#networks.values()];
    this.#networks.clear();
    await Promise.all(networks.map(closeListener));
  }

  #isOwnAddress(upstream: Upstream): boolean {
    return upstream.port === this.#port && [...this.#networks.values()].some((n) => n.gateway === upstream.host);
  }

  #onUdp(network: NetworkListener, message: Buffer, peer: { address: string; port: number }): void {
    if (!fromSubnet(network, peer.address)) return;
    void this.#respond(network, message, { transport: 'udp', from: peer.address }).then((reply) => {
      if (reply === undefined || network.closed) return;
      network.udp.send(reply, peer.port, peer.address, (err) => {
        if (err) this.#logger.debug({ err, peer }, 'embedded DNS: cannot send a UDP answer');
      });
    });
  }

  #onTcp(network: NetworkListener, socket: Socket): void {
    const from = socket.remoteAddress;
    // Checked before counting, so outsiders cannot use up the network's connections either.
    if (network.closed || !fromSubnet(network, from) || network.connections.size >= this.#maxTcpConnections) return void socket.destroy();
    network.connections.add(socket);
    socket.on('close', () => network.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(this.#tcpIdleTimeoutMs, () => socket.destroy());
    socket.on('drain', () => socket.resume());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const query = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + query.length);
        void this.#respond(network, query, { transport: 'tcp', from }).then((reply) => {
          if (reply === undefined || socket.destroyed) return;
          if (!socket.write(frame(reply)) && socket.writableLength > tcpWriteBacklog) socket.pause();
        });
      }
    });
  }

  /** The bytes to send back for one packet, or undefined to stay silent. Never rejects. */
  async #respond(network: NetworkListener, bytes: Uint8Array, asker: { transport: DnsTransport; from: string }): Promise<Uint8Array | undefined> {
    const { transport, from } = asker;
    try {
      const packet = triage(bytes);
      if (packet.kind === 'drop') return undefined;
      if (packet.kind === 'reply') return buildMessage(packet.reply);
      const { query } = packet;
      const local = answerLocally(query, network.table, { rotation: this.#rotation++, from });
      if (local !== undefined) return buildBounded(local, transport === 'udp' ? udpSizeOf(query) : 0xffff);
      const forwarded = await this.#forwarder.forward(bytes, transport, network.table.upstreamsFor(from));
      if (forwarded instanceof Uint8Array) return forwarded;
      if (forwarded === 'busy') this.#logBusy();
      return buildMessage(buildReply(query, { rcode: forwarded === 'busy' ? dnsRcodes.REFUSED : dnsRcodes.SERVFAIL }));
    } catch (err) {
      this.#logger.error({ err }, 'embedded DNS: cannot answer a query');
      return undefined;
    }
  }

  /** At most once per 2 s, as moby's logInterval: a flood must not become a log flood. */
  #logBusy(): void {
    if (Date.now() - this.#lastBusyLog < 2000) return;
    this.#lastBusyLog = Date.now();
    this.#logger.warn('embedded DNS: too many forwarded queries in flight, refusing');
  }
}

function fromSubnet(network: NetworkListener, address: string | undefined): address is string {
  const value = address === undefined ? undefined : parseIpv4(address);
  return value !== undefined && containsAddress(network.subnet, value);
}

/** A bad upstream or alias is refused at once, not discovered (and ignored) at the first query. */
function checkSettings(containerId: string, settings: DnsClientSettings): void {
  for (const upstream of settings.upstreams ?? []) {
    if (parseUpstream(upstream) === undefined) throw new Fault('invalid-argument', `embedded DNS: container ${containerId}: ${JSON.stringify(upstream)} is not a resolver address`);
  }
  for (const [alias, target] of Object.entries(settings.aliases ?? {})) {
    if (alias.replace(/\.$/, '') === '' || target.replace(/^\//, '') === '') {
      throw new Fault('invalid-argument', `embedded DNS: container ${containerId}: link alias ${JSON.stringify(alias)} -> ${JSON.stringify(target)} is incomplete`);
    }
  }
}

async function closeListener(network: NetworkListener): Promise<void> {
  network.closed = true;
  for (const socket of network.connections) socket.destroy();
  await Promise.all([
    new Promise<void>((resolve) => network.tcp.close(() => resolve())),
    new Promise<void>((resolve) => {
      try {
        network.udp.close(() => resolve());
      } catch {
        resolve();
      }
    }),
  ]);
}
