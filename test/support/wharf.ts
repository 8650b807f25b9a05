import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ConfigInput, loadConfig } from '../../src/base/config.ts';
import { startWharf, type WharfPart } from '../../src/main/start-wharf.ts';
import { removeTestNetworking, testNetworkEnv } from './test-network.ts';
import { freePort, waitFor } from './ports.ts';

export const wharfBin = resolve(import.meta.dirname, '../../bin/wharf');

export interface TestWharf {
  root: string;
  /** `http://127.0.0.1:PORT` (https when config sets registry.tls) */
  url: string;
  /** `127.0.0.1:PORT`, as image references name it. */
  host: string;
  close(): Promise<void>;
}

export interface TestWharfOptions {
  config?: ConfigInput;
  /** Shorthand for config.auth. */
  auth?: ConfigInput['auth'];
  parts?: WharfPart[];
  /** Reuse a root (kept on close); default: a fresh temp dir, removed on close. */
  root?: string;
}

/**
 * A whole wharf in-process on a temp root and a free port, built from config like `wharf serve`. Logs are silent
 * unless WHARF_TEST_LOG=info|debug is set when running the tests.
 */
export async function startTestWharf(options: TestWharfOptions = {}): Promise<TestWharf> {
  const root = options.root ?? mkdtempSync(join(tmpdir(), 'wharf-test-'));
  const config = loadConfig({
    overrides: {
      ...options.config,
      root,
      log: { level: (process.env.WHARF_TEST_LOG as 'info' | undefined) ?? 'silent' },
      registry: { addr: '127.0.0.1:0', ...options.config?.registry },
      ...(options.auth ? { auth: { ...options.config?.auth, ...options.auth } } : {}),
    },
  });
  let running;
  try {
    running = await startWharf(config, { parts: options.parts ?? ['registry'] });
  } catch (err) {
    if (!options.root) rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const url = running.registryUrl ?? running.tokenUrl ?? '';
  return {
    root,
    url,
    host: url.replace(/^https?:\/\//, ''),
    close: async () => {
      await running.close();
      if (!options.root) rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface WharfProcess {
  url: string;
  host: string;
  pid: number;
  child: ChildProcess;
  /** What the process wrote to stderr so far (the last 64 KiB), for failure messages. */
  stderr(): string;
  /** SIGKILL, no cleanup: for crash tests. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the graceful exit. */
  stop(): Promise<void>;
}

export interface SpawnWharfOptions {
  root: string;
  port?: number;
  /** Extra `wharf registry serve` flags. */
  args?: string[];
  /** Extra environment (e.g. NODE_OPTIONS=--cpu-prof for profiling). */
  env?: NodeJS.ProcessEnv;
  logLevel?: string;
}

/** `bin/wharf registry serve --addr 127.0.0.1:PORT --root DIR` as a real child process, so a test can kill -9 it. */
export async function spawnWharfProcess(options: SpawnWharfOptions): Promise<WharfProcess> {
  const port = options.port ?? (await freePort());
  const args = ['registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', options.root, '--log-level', options.logLevel ?? 'warn'];
  const proc = spawnWharfBin([...args, ...(options.args ?? [])], options.env);
  const url = `http://127.0.0.1:${port}`;
  try {
    // /health, not /v2/: with --auth htpasswd or token /v2/ answers 401.
    await waitFor('wharf process', async () => (await fetch(`${url}/health`)).status === 200, 30_000, proc.gone);
  } catch (err) {
    await proc.signal('SIGKILL');
    throw new Error(`${(err as Error).message}\n${proc.stderr()}`);
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    pid: proc.child.pid ?? 0,
    child: proc.child,
    stderr: proc.stderr,
    kill9: () => proc.signal('SIGKILL'),
    stop: () => proc.signal('SIGTERM'),
  };
}

/** One pino line of `wharf serve`: every line names the part that wrote it (`supervisor`, `registry`, `engine`). */
export interface WharfLogLine {
  part?: string;
  msg?: string;
  pid?: number;
  [field: string]: unknown;
}

export interface WharfServeProcess extends WharfProcess {
  socket: string;
  /** Every JSON line written to stdout so far. */
  logs(): WharfLogLine[];
  /** The pid of a part's current process, from the supervisor's latest `part ready` line. */
  partPid(part: 'registry' | 'engine'): number | undefined;
  /** The exit code (null when killed by a signal), once the process has exited. */
  exited: Promise<number | null>;
}

export interface SpawnWharfServeOptions extends SpawnWharfOptions {
  /** The engine's socket; default `<root>/engine.sock`. */
  socket?: string;
}

/**
 * `bin/wharf serve` (the supervisor and a process per part) on 127.0.0.1:PORT and a socket under the root, with
 * its stdout collected as log lines. Resolves once the supervisor says every part is serving.
 */
export async function spawnWharfServe(options: SpawnWharfServeOptions): Promise<WharfServeProcess> {
  const port = options.port ?? (await freePort());
  const socket = options.socket ?? join(options.root, 'engine.sock');
  const args = ['serve', '--addr', `127.0.0.1:${port}`, '--socket', socket, '--root', options.root, '--log-level', options.logLevel ?? 'info'];
  const proc = spawnWharfBin([...args, ...(options.args ?? [])], { ...testNetworkEnv(options.root), ...options.env });
  const logs = collectLogLines(proc.child);
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  const serving = async () => logs().some((line) => line.part === 'supervisor' && line.msg === 'wharf serving');
  try {
    await waitFor('wharf serve', serving, 60_000, proc.gone);
  } catch (err) {
    await proc.signal('SIGKILL');
    throw new Error(`${(err as Error).message}\n${proc.stderr()}`);
  }
  const partPid = (part: string) =>
    logs().findLast((line) => line.part === 'supervisor' && line.child === part && line.msg === 'part ready')?.childPid as number | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    socket,
    pid: proc.child.pid ?? 0,
    child: proc.child,
    stderr: proc.stderr,
    logs,
    partPid,
    exited,
    // Once it is gone, its engine's bridges and chains go too: the root is the test's, the host is not.
    kill9: () => proc.signal('SIGKILL').then(() => removeTestNetworking(options.root)),
    stop: () => proc.signal('SIGTERM').then(() => removeTestNetworking(options.root)),
  };
}

function collectLogLines(child: ChildProcess): () => WharfLogLine[] {
  const lines: WharfLogLine[] = [];
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) {
      try {
        lines.push(JSON.parse(text) as WharfLogLine);
      } catch {
        lines.push({ msg: text });
      }
    }
  });
  return () => lines;
}

interface WharfBinProcess {
  child: ChildProcess;
  stderr(): string;
  gone(): boolean;
  /** Sends the signal unless the process is gone, and waits for its exit. */
  signal(name: NodeJS.Signals): Promise<void>;
}

function spawnWharfBin(args: string[], env: NodeJS.ProcessEnv = {}): WharfBinProcess {
  const child = spawn(wharfBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let errText = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    errText = (errText + chunk).slice(-65536);
  });
  // Nothing reads stdout unless the caller does; keep it flowing so the process never blocks on a full pipe.
  child.stdout?.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    stderr: () => errText,
    gone,
    signal: async (name) => {
      if (!gone()) child.kill(name);
      await exited;
    },
  };
}
