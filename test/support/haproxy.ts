import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface Haproxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, as image references name it. */
  host: string;
  pid: number;
  close(): Promise<void>;
}

export interface HaproxyOptions {
  /** `host:port` of each replica. */
  backends: string[];
  /** haproxy's `nbthread`; 1 by default (the 2-core host runs the replicas too). */
  threads?: number;
  /**
   * 'http' (the default): every request balanced on its own. 'tcp': layer 4, a client's connection goes to one
   * replica for its whole life (as TLS passthrough or a network load balancer does); no HTTP parsing in haproxy.
   */
  mode?: 'http' | 'tcp';
  /** What the health check GETs (and start-up waits for a 200 from); `/health`, wharf's, by default. */
  healthPath?: string;
  /** tcp mode: relay with splice(2) (`option splice-auto`), the bytes never copied through haproxy. */
  splice?: boolean;
}

/**
 * Debian's haproxy (package `haproxy`) as a private round-robin load balancer on a free loopback port, from a
 * config in a temp dir, run in the foreground (`-db`); never the system service. In 'http' mode every request is
 * balanced on its own (haproxy 2.x keeps client connections alive and picks a server per request), so a client's
 * upload PATCH and PUT reach different replicas; in 'tcp' mode every connection. Either way a replica that stops
 * answering is taken out by the HTTP health check on `/health` (haproxy 2.x runs `option httpchk` in tcp mode
 * too), and a connection it refused is sent to the other (`redispatch`; in http mode also `retry-on`).
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-haproxy-'));
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  const healthPath = options.healthPath ?? '/health';
  writeFileSync(file, haproxyConfig(options, port, healthPath));
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-8000); });
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const close = async () => {
    if (!gone()) child.kill('SIGTERM');
    await Promise.race([exited, spawnFailed]);
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitFor('haproxy', async () => (await fetch(`${url}${healthPath}`)).status === 200, 15_000, gone),
      spawnFailed.then((err) => { throw new Error(`haproxy: ${err.message} (apt-get install haproxy)`); }),
    ]);
  } catch (err) {
    await close();
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { url, host: `127.0.0.1:${port}`, pid: child.pid ?? 0, close };
}

function haproxyConfig(options: HaproxyOptions, port: number, healthPath: string): string {
  const http = (options.mode ?? 'http') === 'http';
  return [
    'global',
    `  nbthread ${options.threads ?? 1}`,
    '  maxconn 4096',
    'defaults',
    `  mode ${http ? 'http' : 'tcp'}`,
    '  timeout connect 2s',
    // Blob uploads and pulls stream for minutes; only idle sides time out.
    '  timeout client 300s',
    '  timeout server 300s',
    '  option redispatch',
    '  retries 3',
    // Per request, so http mode only (haproxy would accept them in tcp mode and do nothing with them).
    ...(http ? ['  retry-on conn-failure empty-response'] : []),
    ...(!http && options.splice ? ['  option splice-auto'] : []),
    'frontend registry',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    // An idle connection to a replica serves whichever client's request comes next: fewer, busier connections
    // on the replicas' side (haproxy's default, `safe`, keeps a client's first request on a connection of its own).
    ...(http ? ['  http-reuse always'] : []),
    `  option httpchk GET ${healthPath}`,
    ...options.backends.map((addr, i) => `  server r${i} ${addr} check inter 300ms fall 1 rise 1`),
    '',
  ].join('\n');
}
