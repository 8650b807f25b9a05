/*
 * Host ports for published container ports. As moby v28.5.2 does, a port is first checked against the engine's
 * own table (libnetwork/portallocator/portallocator.go: "Bind for IP:PORT failed: port is already allocated"),
 * then held by a socket bound to it (libnetwork/drivers/bridge/port_mapping_linux.go bindTCPOrUDP: "failed to
 * bind host port for HOSTIP:PORT:CTRIP:CTRPORT/PROTO: <errno text>"), so a port some other host process uses fails
 * at `docker run`, not silently at the first packet. The sockets never see traffic: DNAT rewrites it before
 * local delivery. Ephemeral ports come from the kernel's ip_local_port_range (portallocator_linux.go), handed out
 * serially after the last one so a port just released is not reused at once.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { Fault } from '../../base/fault.ts';
import type { PortMapping } from './network-driver.ts';
import type { PortRequest } from './port-bindings.ts';

export interface PortAllocatorOptions {
  /** Ephemeral ports, inclusive; read from /proc/sys/net/ipv4/ip_local_port_range when not given. */
  ephemeralRange?: [number, number];
}

export interface ReserveOptions {
  /** The container's address, only for the error text (moby names the whole mapping). */
  containerIp?: string;
}

interface Held {
  owner: string;
  mapping: PortMapping;
  /** Undefined while the bind is in flight: the entry already blocks the port for concurrent callers. */
  socket?: Server | Socket;
}

// moby tries a range this many times when binding fails (port_mapping_linux.go maxAllocatePortAttempts).
const maxBindAttempts = 10;

export class PortAllocator {
  readonly #held: Held[] = [];
  readonly #cursors = new Map<string, number>();
  #ephemeral: Promise<[number, number]> | undefined;

  constructor(options: PortAllocatorOptions = {}) {
    if (options.ephemeralRange) this.#ephemeral = Promise.resolve(options.ephemeralRange);
  }

  /**
   * Takes a host port for every request, all or nothing: on any failure what this call took is released before
   * the error is thrown. Fixed ports are taken before ranges and ephemeral ports, so a range cannot steal a port
   * another request of the same container names. The result is in request order.
   */
  async reserve(owner: string, requests: PortRequest[], options: ReserveOptions = {}): Promise<PortMapping[]> {
    const taken: Held[] = [];
    const order = requests.map((r, i) => ({ r, i })).sort((a, b) => rank(a.r) - rank(b.r));
    const result: PortMapping[] = [];
    try {
      for (const { r, i } of order) {
        const held = await this.#take(owner, r, options.containerIp ?? '');
        taken.push(held);
        result[i] = held.mapping;
      }
      return result;
    } catch (err) {
      await Promise.all(taken.map((h) => this.#drop(h)));
      throw err;
    }
  }

  /** Closes every socket the owner holds and frees its ports; an owner with none is not an error. */
  async release(owner: string): Promise<void> {
    await Promise.all(this.#held.filter((h) => h.owner === owner).map((h) => this.#drop(h)));
  }

  /** The mappings an owner holds. */
  owned(owner: string): PortMapping[] {
    return this.#held.filter((h) => h.owner === owner).map((h) => ({ ...h.mapping }));
  }

  async #take(owner: string, request: PortRequest, containerIp: string): Promise<Held> {
    const fixed = request.hostPortRange && request.hostPortRange[0] === request.hostPortRange[1];
    const range = request.hostPortRange ?? (await this.#ephemeralRange());
    let lastError: unknown;
    for (let attempt = 0; attempt < (fixed ? 1 : maxBindAttempts); attempt++) {
      const port = fixed ? this.#checkFree(request, range[0]) : this.#nextFree(request, range);
      const held: Held = { owner, mapping: { protocol: request.protocol, hostIp: request.hostIp, hostPort: port, containerPort: request.containerPort } };
      this.#held.push(held);
      try {
        held.socket = await bindPort(held.mapping);
        return held;
      } catch (err) {
        this.#forget(held);
        lastError = bindFault(err, request, port, containerIp);
      }
    }
    throw lastError;
  }

  #checkFree(request: PortRequest, port: number): number {
    const clash = this.#clash(request, port);
    if (clash) throw new Fault('conflict', `Bind for ${clash.mapping.hostIp || '0.0.0.0'}:${port} failed: port is already allocated`);
    return port;
  }

  #nextFree(request: PortRequest, [first, last]: [number, number]): number {
    const key = `${request.protocol}/${request.hostIp}/${first}-${last}`;
    const cursor = this.#cursors.get(key) ?? last;
    const count = last - first + 1;
    for (let i = 1; i <= count; i++) {
      const port = first + ((cursor - first + i) % count);
      if (!this.#clash(request, port)) {
        this.#cursors.set(key, port);
        return port;
      }
    }
    throw new Fault('unavailable', 'all ports are allocated');
  }

  // A wildcard binding clashes with every address on the same port and protocol, and every address with it.
  #clash(request: PortRequest, port: number): Held | undefined {
    return this.#held.find(
      (h) => h.mapping.protocol === request.protocol && h.mapping.hostPort === port && (h.mapping.hostIp === '' || request.hostIp === '' || h.mapping.hostIp === request.hostIp),
    );
  }

  async #drop(held: Held): Promise<void> {
    this.#forget(held);
    await closeSocket(held.socket);
  }

  #forget(held: Held): void {
    const index = this.#held.indexOf(held);
    if (index >= 0) this.#held.splice(index, 1);
  }

  #ephemeralRange(): Promise<[number, number]> {
    this.#ephemeral ??= ephemeralPortRange();
    return this.#ephemeral;
  }
}

function rank(request: PortRequest): number {
  if (!request.hostPortRange) return 2;
  return request.hostPortRange[0] === request.hostPortRange[1] ? 0 : 1;
}

/** The kernel's ephemeral port range; moby falls back to 49153-65535 when it cannot be read. */
export async function ephemeralPortRange(path = '/proc/sys/net/ipv4/ip_local_port_range'): Promise<[number, number]> {
  try {
    const [first, last] = (await readFile(path, 'utf8')).trim().split(/\s+/).map(Number);
    if (Number.isInteger(first) && Number.isInteger(last) && first >= 1 && first <= last && last <= 65535) return [first, last];
  } catch {
    // Not Linux, or /proc not mounted: moby's default below.
  }
  return [49153, 65535];
}

/** Binds (and for tcp listens on) the host port; the socket keeps no event loop alive. */
function bindPort(mapping: PortMapping): Promise<Server | Socket> {
  const host = mapping.hostIp || '0.0.0.0';
  return new Promise((resolve, reject) => {
    if (mapping.protocol === 'tcp') {
      // A connection reaches this socket only if the DNAT rule is missing: refuse it rather than let it hang.
      const server = createServer((socket) => socket.destroy());
      server.once('error', reject);
      server.listen({ host, port: mapping.hostPort, exclusive: true }, () => resolve(server.unref()));
    } else {
      const socket = createSocket({ type: 'udp4' });
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.bind({ address: host, port: mapping.hostPort, exclusive: true }, () => resolve(socket.unref()));
    }
  });
}

function closeSocket(socket: Server | Socket | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!socket) resolve();
    else socket.close(() => resolve());
  });
}

// Go's strerror texts, as moby's wrapped syscall error prints them.
const errnoText: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EACCES: 'permission denied',
};

/** moby's types.PortBinding.String(): HOSTIP:HOSTPORT[-END]:CTRIP:CTRPORT/PROTO, empty parts dropped. */
function bindFault(err: unknown, request: PortRequest, port: number, containerIp: string): Fault {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const [first, last] = request.hostPortRange ?? [0, 0];
  const hostPorts = first === 0 ? '' : first === last ? `${first}` : `${first}-${last}`;
  const spec = `${request.hostIp || '0.0.0.0'}:${hostPorts}:${containerIp ? `${containerIp}:` : ''}${request.containerPort}/${request.protocol}`;
  // A fixed (or ephemeral, 0-0) binding names no port; a range names the one that failed.
  const which = first === last ? '' : ` ${port}`;
  const text = errnoText[code] ?? (err instanceof Error ? err.message : String(err));
  const kind = code === 'EADDRINUSE' ? 'conflict' : code === 'EADDRNOTAVAIL' ? 'invalid-argument' : 'unavailable';
  return new Fault(kind, `failed to bind host port${which} for ${spec}: ${text}`, { cause: err });
}
