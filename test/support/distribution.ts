import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface Distribution {
  url: string;
  host: string;
  pid: number;
  /** Its filesystem storage root. */
  dataDir: string;
  /** The requests it answered (with `accessLog: true`), from its access log, oldest first. */
  requests(): DistributionRequest[];
  close(): Promise<void>;
}

export interface DistributionRequest {
  method: string;
  path: string;
  status: number;
}

/** registry:2's `proxy`: a pull-through cache of `remoteUrl` (its `remoteurl`, `username`, `password`). */
export interface DistributionProxy {
  remoteUrl: string;
  username?: string;
  password?: string;
}

function proxySection(proxy: DistributionProxy): string {
  const lines = Object.entries({ remoteurl: proxy.remoteUrl, username: proxy.username, password: proxy.password }).filter(([, value]) => value !== undefined);
  return `proxy:\n${lines.map(([key, value]) => `  ${key}: ${JSON.stringify(value)}\n`).join('')}`;
}

/** The combined-log-format lines registry:2 writes for each request (gorilla's CombinedLoggingHandler). */
function parseAccessLog(text: string): DistributionRequest[] {
  const requests: DistributionRequest[] = [];
  for (const match of text.matchAll(/"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/[\d.]+" (\d{3}) /g)) {
    requests.push({ method: match[1], path: match[2], status: Number(match[3]) });
  }
  return requests;
}

/** registry:2's `auth.token`: it trusts tokens signed by a key of `rootCertBundle` (a PEM file of certificates). */
export interface DistributionTokenAuth {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

function tokenAuth(token: DistributionTokenAuth): string {
  const lines = Object.entries({ realm: token.realm, service: token.service, issuer: token.issuer, rootcertbundle: token.rootCertBundle });
  return `auth:\n  token:\n${lines.map(([key, value]) => `    ${key}: ${JSON.stringify(value)}\n`).join('')}`;
}

/**
 * Debian's docker-registry (CNCF distribution 2.8.2), the registry anchor, on a free loopback port: filesystem
 * storage in a temp dir, deletes enabled, quiet logs (kept in the temp dir and shown if it fails to start).
 * With `netns`, it runs in that network namespace and listens on `netns.address` (port 5000) instead.
 */
export async function startDistribution(
  options: {
    htpasswdFile?: string;
    token?: DistributionTokenAuth;
    proxy?: DistributionProxy;
    accessLog?: boolean;
    netns?: { name: string; address: string };
  } = {},
): Promise<Distribution> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-distribution-'));
  const port = options.netns ? 5000 : await freePort();
  const address = options.netns?.address ?? '127.0.0.1';
  const auth = options.htpasswdFile ? `auth:\n  htpasswd:\n    realm: test\n    path: ${options.htpasswdFile}\n` : options.token ? tokenAuth(options.token) : '';
  const dataDir = join(dir, 'data');
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      `    disabled: ${!options.accessLog}`,
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dataDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${address}:${port}`,
      auth,
      options.proxy ? proxySection(options.proxy) : '',
    ].join('\n'),
  );
  const log = join(dir, 'registry.log');
  const inNetns = options.netns ? `ip netns exec ${options.netns.name} ` : '';
  const child: ChildProcess = spawn('/bin/sh', ['-c', `exec ${inNetns}/usr/bin/docker-registry serve "$1" >>"${log}" 2>&1`, 'registry', join(dir, 'config.yml')], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const url = `http://${address}:${port}`;
  const close = async () => {
    if (!gone()) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('docker-registry', async () => (await fetch(`${url}/v2/`)).status < 500, 30_000, gone);
  } catch (err) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-4000) : '';
    await close();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  const requests = () => (existsSync(log) ? parseAccessLog(readFileSync(log, 'utf8')) : []);
  return { url, host: `${address}:${port}`, pid: child.pid ?? 0, dataDir, requests, close };
}
