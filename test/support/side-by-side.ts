/*
 * Wharf and a private dockerd 20.10 asked the same thing in the same test (issue 11): each is a Side, driven by
 * the docker CLI or docker-py on its socket, with the same assertions for both.
 */
import assert from 'node:assert/strict';
import type { Dockerd } from './dockerd.ts';
import { run, type RunResult } from './run.ts';

type DockerFn = (args: string[], options?: { input?: string | Buffer; timeoutMs?: number }) => Promise<RunResult>;

/** One engine as the clients see it. */
export interface Side {
  name: 'wharf' | 'dockerd';
  /** The engine's unix socket path. */
  socketPath: string;
  /** DOCKER_HOST and a private DOCKER_CONFIG for the docker CLI. */
  env: NodeJS.ProcessEnv;
  /** The docker CLI against this engine; never rejects on a non-zero exit. */
  docker: DockerFn;
}

/** wharf (a test engine) first, then the anchor dockerd. */
export function sidesOf(engine: { socket: string; env: NodeJS.ProcessEnv; docker: DockerFn }, dockerd: Dockerd): Side[] {
  return [
    { name: 'wharf', socketPath: engine.socket, env: engine.env, docker: (args, options) => engine.docker(args, options) },
    { name: 'dockerd', socketPath: dockerd.host.replace(/^unix:\/\//, ''), env: dockerd.env, docker: (args, options) => dockerd.docker(args, options) },
  ];
}

/** `docker args` must exit 0; gives the trimmed stdout. */
export async function ok(side: Pick<Side, 'name' | 'docker'>, ...args: string[]): Promise<string> {
  const result = await side.docker(args);
  assert.equal(result.code, 0, `${side.name}: docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/** `docker args` must exit non-zero with `pattern` in stderr. */
export async function fails(side: Pick<Side, 'name' | 'docker'>, pattern: RegExp, ...args: string[]): Promise<RunResult> {
  const result = await side.docker(args);
  assert.notEqual(result.code, 0, `${side.name}: docker ${args.join(' ')} should fail: ${result.stdout}`);
  assert.match(result.stderr, pattern, side.name);
  return result;
}

/** `docker inspect -f '{{json <format>}}' what`, decoded. */
export async function inspectJson(side: Pick<Side, 'name' | 'docker'>, what: string, format: string): Promise<any> {
  return JSON.parse(await ok(side, 'inspect', '-f', `{{json ${format}}}`, what));
}

/** ok, fails and inspectJson bound to one side. */
export function sideChecks(side: Pick<Side, 'name' | 'docker'>) {
  return {
    ok: (...args: string[]) => ok(side, ...args),
    fails: (pattern: RegExp, ...args: string[]) => fails(side, pattern, ...args),
    json: (what: string, format: string) => inspectJson(side, what, format),
  };
}

/** `work` on every side at once. */
export function both<S, T>(sides: readonly S[], work: (side: S) => Promise<T>): Promise<T[]> {
  return Promise.all(sides.map(work));
}

/**
 * `scenario` on each side one after the other (for timing-sensitive ones), asserting wharf's result equals
 * dockerd's, and dockerd's `expected` when given; gives wharf's.
 */
export async function same<S, T>(sides: readonly S[], scenario: (side: S) => Promise<T>, expected?: T): Promise<T> {
  const wharf = await scenario(sides[0]);
  const anchor = await scenario(sides[1]);
  assert.deepEqual(wharf, anchor, 'wharf answers as dockerd does');
  if (expected !== undefined) assert.deepEqual(anchor, expected, 'dockerd answers as this test expects');
  return wharf;
}

/** Container and image IDs (64 hex) made alike, so both sides' words compare equal. */
export function withoutIds(text: string): string {
  return text.replace(/[0-9a-f]{64}/g, 'ID');
}

/**
 * A docker-py 5 script on the side, with `client` (docker.DockerClient) and `api` (its APIClient) at `version`
 * (docker-py's own default, 1.41, unless given); gives what it prints.
 */
export async function dockerPy(side: Pick<Side, 'name' | 'socketPath'>, body: string, options: { version?: string } = {}): Promise<string> {
  const version = options.version ? `, version='${options.version}'` : '';
  const script = `import docker, json, sys\nclient = docker.DockerClient(base_url='unix://${side.socketPath}'${version})\napi = client.api\n${body}`;
  const result = await run('python3', ['-c', script], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, `docker-py on ${side.name}: ${result.stderr}`);
  return result.stdout.trim();
}
