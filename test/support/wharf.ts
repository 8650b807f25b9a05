import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ConfigInput, loadConfig } from '../../src/base/config.ts';
import { startWharf, type WharfPart } from '../../src/main/start-wharf.ts';
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
  const child = spawn(wharfBin, [...args, ...(options.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let errText = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    errText = (errText + chunk).slice(-65536);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const url = `http://127.0.0.1:${port}`;
  const signal = async (name: NodeJS.Signals) => {
    if (!gone()) child.kill(name);
    await exited;
  };
  try {
    await waitFor('wharf process', async () => (await fetch(`${url}/v2/`)).status === 200, 30_000, gone);
  } catch (err) {
    await signal('SIGKILL');
    throw new Error(`${(err as Error).message}\n${errText}`);
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    child,
    stderr: () => errText,
    kill9: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}
