import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type ConfigInput } from '../../src/base/config.ts';
import { createLogger } from '../../src/base/log.ts';
import { removeHostNetworking, startEngine, type RunningEngine } from '../../src/engine/engine.ts';
import { DriverBlobStore } from '../../src/store/driver-blob-store.ts';
import { FsDriver } from '../../src/store/fs-driver.ts';
import { buildBusyboxRootfsTar } from '../support/busybox.ts';
import { dockerCli } from '../support/dockerd.ts';
import { run } from '../support/run.ts';
import { testNetworkConfig } from '../support/test-network.ts';

export const dockerBin = dockerCli;

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestEngine {
  root: string;
  socket: string;
  /** Environment for the docker CLI: DOCKER_HOST on our socket and a private config dir. */
  env: Record<string, string>;
  docker(args: string[], options?: { input?: string | Buffer; timeoutMs?: number }): Promise<DockerResult>;
  /** Stops the engine but keeps its data (for restart tests). */
  stop(): Promise<void>;
  /** Starts the engine again on the same root. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** An engine on a temp root with its socket inside it, driven by the real docker CLI. */
export async function startTestEngine(overrides: ConfigInput = {}): Promise<TestEngine> {
  const root = mkdtempSync(join(tmpdir(), 'wharf-engine-'));
  const socket = join(root, 'engine.sock');
  const config = configSchema.parse({
    ...overrides,
    root,
    log: { level: process.env.WHARF_TEST_LOG ?? 'silent' },
    engine: { ...overrides.engine, socket, network: { ...testNetworkConfig(root), ...overrides.engine?.network } },
  });
  const logger = createLogger({ level: config.log.level });
  const boot = () => startEngine({ config, blobs: new DriverBlobStore({ driver: new FsDriver({ root }) }), logger });
  let engine: RunningEngine | undefined = await boot();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(root, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
  };
  return {
    root,
    socket,
    env,
    docker: (args, options) => runDocker(args, env, options),
    stop: async () => {
      await engine?.close();
      engine = undefined;
    },
    restart: async () => {
      await engine?.close();
      engine = await boot();
    },
    close: async () => {
      await engine?.close();
      engine = undefined;
      await removeHostNetworking(config, logger);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** `startTestEngine` with busybox imported as `busybox` (`importArgs` go before the tar, e.g. `-c`, `CMD ["sh"]`). */
export async function startTestEngineWithBusybox(importArgs: string[] = [], overrides: ConfigInput = {}): Promise<TestEngine> {
  const engine = await startTestEngine(overrides);
  const imported = await engine.docker(['import', ...importArgs, await buildBusyboxRootfsTar(engine.root), 'busybox']);
  if (imported.code !== 0) {
    await engine.close();
    throw new Error(`docker import of busybox failed: ${imported.stderr}`);
  }
  return engine;
}

/**
 * Assertions over `engine.docker`: `ok` must exit 0 and gives the trimmed stdout, `fails` must exit non-zero with
 * `pattern` in stderr, `inspect` decodes `inspect -f '{{json <format>}}'`. `engine` is read at call time, so the
 * helpers can be made before a `before()` hook starts it.
 */
export function dockerChecks(engine: () => TestEngine) {
  const ok = async (...args: string[]) => {
    const result = await engine().docker(args);
    assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const fails = async (pattern: RegExp, ...args: string[]) => {
    const result = await engine().docker(args);
    assert.notEqual(result.code, 0, `docker ${args.join(' ')} should fail: ${result.stdout}`);
    assert.match(result.stderr, pattern);
    return result;
  };
  const inspect = async (what: string, format: string) => JSON.parse(await ok('inspect', '-f', `{{json ${format}}}`, what));
  return { ok, fails, inspect };
}

export function runDocker(
  args: string[],
  env: Record<string, string>,
  options: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<DockerResult> {
  return run(dockerBin, args, { env, input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
}

export { buildBusyboxRootfsTar };

