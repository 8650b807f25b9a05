import { once } from 'node:events';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { pipeline, Transform, type TransformCallback } from 'node:stream';

export interface TcpRelay {
  port: number;
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Connections accepted since the start (or the last resetCounts()). */
  connections(): number;
  /** Bytes sent from the target to clients since the start (or the last resetCounts()). */
  bytesDown(): number;
  resetCounts(): void;
  /** Limits what the target sends to clients, in bytes per second over all connections; undefined = no limit. */
  throttle(bytesPerSecond: number | undefined): void;
  /** Drops every open connection at once (both sides destroyed: the client sees a reset); keeps listening. */
  drop(): void;
  /** drop() and stop listening: new connections are refused, as when the target is gone. */
  kill(): Promise<void>;
  /** Listens again on the same port after kill(). */
  revive(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP relay on 127.0.0.1 and a free port, forwarding every connection to `target` (`host:port`): the
 * network between two servers in a test, which the test can slow down (throttle) or cut (drop, kill) mid-transfer.
 */
export async function startTcpRelay(target: string, options: { bytesPerSecond?: number } = {}): Promise<TcpRelay> {
  const [targetHost, targetPort] = splitHostPort(target);
  const open = new Set<Socket>();
  const pace = new Pace(options.bytesPerSecond);
  let accepted = 0;
  let down = 0;
  const relay = (client: Socket) => {
    accepted++;
    const upstream = connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    }
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done: TransformCallback) {
        down += chunk.length;
        done(null, chunk);
      },
    });
    // Either side's error ends both: a relay never keeps half a broken conversation. A clean end is passed on.
    const end = (err: Error | null) => {
      if (!err) return;
      client.destroy();
      upstream.destroy();
    };
    // The request direction is piped, not a pipeline: a pipeline would destroy the client when the target closes
    // first (a `Connection: close` answer) while the answer's last bytes are still on their way down (throttled).
    client.pipe(upstream);
    client.on('error', end);
    pipeline(upstream, pace.stream(), count, client, end);
  };
  let server = createServer(relay);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const drop = () => {
    for (const socket of open) socket.resetAndDestroy();
  };
  const stopListening = async (listening: Server) => {
    if (!listening.listening) return;
    const closed = new Promise((resolve) => listening.close(resolve));
    drop();
    await closed;
  };
  return {
    port,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    bytesDown: () => down,
    resetCounts: () => {
      accepted = 0;
      down = 0;
    },
    throttle: (bytesPerSecond) => pace.set(bytesPerSecond),
    drop,
    kill: () => stopListening(server),
    revive: async () => {
      if (server.listening) return;
      server = createServer(relay);
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    close: () => stopListening(server),
  };
}

function splitHostPort(target: string): [string, number] {
  const match = /^(?:https?:\/\/)?([^:/]+):(\d+)\/?$/.exec(target);
  if (!match) throw new Error(`relay target ${target}: expected host:port`);
  return [match[1], Number(match[2])];
}

/** One byte budget shared by every connection of a relay; chunks wait until the budget allows them. */
class Pace {
  #bytesPerSecond: number | undefined;
  /** When the bytes admitted so far will have gone out at the current rate. */
  #freeAt = 0;

  constructor(bytesPerSecond: number | undefined) {
    this.#bytesPerSecond = bytesPerSecond;
  }

  set(bytesPerSecond: number | undefined): void {
    this.#bytesPerSecond = bytesPerSecond;
    this.#freeAt = 0;
  }

  stream(): Transform {
    const pace = this;
    return new Transform({
      transform(chunk: Buffer, _encoding, done: TransformCallback) {
        pace.#pass(this, chunk).then(() => done(), done);
      },
    });
  }

  /** Slices of at most 1/20 s worth, so a throttled transfer moves steadily rather than in bursts. */
  async #pass(out: Transform, chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      const rate = this.#bytesPerSecond;
      const piece = rate === undefined ? chunk.subarray(at) : chunk.subarray(at, at + Math.max(1, Math.floor(rate / 20)));
      if (rate !== undefined) {
        const now = Date.now();
        const wait = this.#freeAt - now;
        this.#freeAt = Math.max(this.#freeAt, now) + (piece.length / rate) * 1000;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      if (out.destroyed) return;
      out.push(piece);
      at += piece.length;
    }
  }
}
