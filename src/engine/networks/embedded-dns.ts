/*
 * The engine's embedded DNS for user-defined networks: one UDP and one TCP listener on each network's gateway
 * address, in the engine process. It answers the network's container names, aliases and short IDs (A), their
 * addresses (PTR), and forwards everything else to the host's resolvers, as moby's resolver does
 * (daemon/libnetwork/resolver.go). Every packet comes from a container: nothing a client sends may throw out of
 * a listener, and memory stays bounded under a flood (forwards in flight, TCP connections, idle TCP timeout).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { answerLocally, triage } from './dns-answer.ts';
import { DnsForwarder, frame, type DnsTransport, type Upstream } from './dns-forwarder.ts';
import { buildBounded, buildMessage, buildReply, dnsRcodes, udpSizeOf } from './dns-message.ts';
import { DnsNameTable } from './dns-name-table.ts';
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
   * same gateway. `name` (the network's name) makes `container.<name>` resolve and names PTR answers, as moby.
   */
  async addNetwork(networkId: string, gateway: string, options: { name?: string } = {}): Promise<void> {
    const existing = this.#networks.get(networkId);
    if (existing !== undefined && existing.gateway === gateway) return;
    if (existing !== undefined) throw new Fault('conflict', `embedded DNS for network ${networkId} already listens on ${existing.gateway}, not ${gateway}`);
    const network: NetworkListener = {
      gateway,
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

  /** `names`: the container's name first, then its aliases; its 12-character short ID answers too. */
  register(networkId: string, containerId: string, names: string[], address: string): void {
    const network = this.#networks.get(networkId);
    if (network === undefined) throw new Fault('not-found', `embedded DNS has no network ${networkId}`);
    if (isIP(address) !== 4) throw new Fault('invalid-argument', `embedded DNS: ${JSON.stringify(address)} is not an IPv4 address`);
    network.table.set(containerId, names, address);
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
    void this.#respond(network, message, 'udp').then((reply) => {
      if (reply === undefined || network.closed) return;
      network.udp.send(reply, peer.port, peer.address, (err) => {
        if (err) this.#logger.debug({ err, peer }, 'embedded DNS: cannot send a UDP answer');
      });
    });
  }

  #onTcp(network: NetworkListener, socket: Socket): void {
    if (network.closed || network.connections.size >= this.#maxTcpConnections) return void socket.destroy();
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
        void this.#respond(network, query, 'tcp').then((reply) => {
          if (reply === undefined || socket.destroyed) return;
          if (!socket.write(frame(reply)) && socket.writableLength > tcpWriteBacklog) socket.pause();
        });
      }
    });
  }

  /** The bytes to send back for one packet, or undefined to stay silent. Never rejects. */
  async #respond(network: NetworkListener, bytes: Uint8Array, transport: DnsTransport): Promise<Uint8Array | undefined> {
    try {
      const packet = triage(bytes);
      if (packet.kind === 'drop') return undefined;
      if (packet.kind === 'reply') return buildMessage(packet.reply);
      const { query } = packet;
      const local = answerLocally(query, network.table, this.#rotation++);
      if (local !== undefined) return buildBounded(local, transport === 'udp' ? udpSizeOf(query) : 0xffff);
      const forwarded = await this.#forwarder.forward(bytes, transport);
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
