import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { hostname, release, totalmem, availableParallelism } from 'node:os';
import type { ServerResponse } from 'node:http';
import { Fault } from '../../base/fault.ts';
import type { RegistryAuth, RegistryClient } from '../../client/registry-client.ts';
import { initBinary } from '../containers/run-spec.ts';
import type { ResourceSupport } from '../containers/runtime.ts';
import type { EngineEvent, EventLog } from '../events.ts';
import { apiVersion, minApiVersion } from './api-version.ts';
import { JsonStream } from './json-stream.ts';
import { infoForVersion } from './version-gates.ts';
import { parseTimestamp, type Filters } from './query.ts';
import { inputOf } from './route-schema.ts';
import { systemSchemas as schemas } from './system-schemas.ts';
import type { ApiContext, Reply, Route } from './router.ts';

const execFileAsync = promisify(execFile);

export interface EngineCounts {
  containers: number;
  running: number;
  paused: number;
  stopped: number;
  images: number;
}

export interface SystemDeps {
  events: EventLog;
  registry: RegistryClient;
  counts(): EngineCounts;
  engineId: string;
  rootDir: string;
  version: string;
  runtimeName: string;
  /** Limits the host's cgroups can enforce (`docker info` shows them and warns about the missing ones). */
  support: ResourceSupport;
  insecureRegistries: readonly string[];
  /** engine.registryMirrors, normalised (trailing `/`) as dockerd lists them. */
  registryMirrors: readonly string[];
}

export function systemRoutes(deps: SystemDeps): Route[] {
  return [
    { name: 'ping', method: 'GET', path: '/_ping', handle: (ctx) => ping(ctx) },
    { name: 'ping-head', method: 'HEAD', path: '/_ping', handle: (ctx) => ping(ctx) },
    { name: 'version', method: 'GET', path: '/version', handle: async () => ({ status: 200, json: versionBody(deps, await helperComponents(deps)) }) },
    {
      name: 'info',
      method: 'GET',
      path: '/info',
      handle: async (ctx) => ({ status: 200, json: infoForVersion(infoBody(deps), ctx.version, { kernelMemory: existsSync(kmemFile('limit_in_bytes')) }) }),
    },
    { name: 'events', method: 'GET', path: '/events', schema: schemas.events, handle: (ctx, res) => streamEvents(deps.events, ctx, res) },
    { name: 'auth', method: 'POST', path: '/auth', body: 'json', schema: schemas.auth, handle: (ctx) => login(deps.registry, ctx) },
  ];
}

/** moby answers HEAD and GET alike, with no-cache headers; the CLI reads the version headers (set globally). */
async function ping(ctx: ApiContext): Promise<Reply> {
  const headers = { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1', Swarm: 'inactive' };
  if (ctx.method === 'HEAD') return { status: 200, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '0' } };
  return { status: 200, text: 'OK', headers };
}

interface Component {
  Name: string;
  Version: string;
  Details: { GitCommit: string };
}

/**
 * moby fillPlatformVersion: the runtime and docker-init, each from its `--version` (run per request, as moby
 * does); one that cannot be run or read is left out, as moby leaves it out (with a warning in its log).
 */
async function helperComponents(deps: SystemDeps): Promise<Component[]> {
  const output = (file: string) => execFileAsync(file, ['--version'], { timeout: 10_000 }).then((r) => r.stdout, () => undefined);
  const [runtime, init] = await Promise.all([output(deps.runtimeName), output(initBinary)]);
  const runtimeVersion = runtime === undefined ? undefined : parseRuntimeVersion(runtime);
  const initVersion = init === undefined ? undefined : parseInitVersion(init);
  return [
    ...(runtimeVersion ? [{ Name: deps.runtimeName, Version: runtimeVersion.version, Details: { GitCommit: runtimeVersion.commit } }] : []),
    ...(initVersion ? [{ Name: 'docker-init', Version: initVersion.version, Details: { GitCommit: initVersion.commit } }] : []),
  ];
}

/** moby parseRuntimeVersion: `runc version 1.1.5` and `commit: …` lines. */
export function parseRuntimeVersion(text: string): { version: string; commit: string } | undefined {
  let version = '';
  let commit = '';
  for (const line of text.trim().split('\n')) {
    if (line.includes('version')) version = line.split('version').at(-1)!.trim();
    else if (line.startsWith('commit:')) commit = line.slice('commit:'.length).trim();
  }
  return version || commit ? { version, commit } : undefined;
}

/** moby parseInitVersion: `tini version 0.19.0 - git.de40ad0` (Debian's build prints no commit). */
export function parseInitVersion(text: string): { version: string; commit: string } | undefined {
  const [head, tail] = text.split(' - ');
  const git = tail?.trim().split('.');
  const commit = git?.length === 2 && git[0] === 'git' ? git[1] : '';
  const version = head.trim().startsWith('tini version ') ? head.trim().slice('tini version '.length) : '';
  return version || commit ? { version, commit } : undefined;
}

const kmemFile = (name: string) => `/sys/fs/cgroup/memory/memory.kmem.${name}`;

function versionBody(deps: SystemDeps, helpers: Component[]): Record<string, unknown> {
  const details = {
    ApiVersion: apiVersion,
    MinAPIVersion: minApiVersion,
    GitCommit: 'wharf',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: release(),
    BuildTime: '2025-01-01T00:00:00.000000000+00:00',
    Experimental: 'false',
  };
  return {
    Platform: { Name: 'wharf' },
    Components: [{ Name: 'Engine', Version: deps.version, Details: details }, ...helpers],
    Version: deps.version,
    ...details,
    Experimental: false,
  };
}

function infoBody(deps: SystemDeps): Record<string, unknown> {
  const counts = deps.counts();
  return {
    ID: deps.engineId,
    Containers: counts.containers,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: counts.images,
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', 'extfs']],
    Plugins: { Volume: ['local'], Network: ['host', 'null'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true,
    SwapLimit: deps.support.swapLimit,
    // moby 25 (omitempty): the v1 TCP buffer limit file; KernelMemory is version-gated (version-gates.ts).
    ...(existsSync(kmemFile('tcp.limit_in_bytes')) ? { KernelMemoryTCP: true } : {}),
    CpuCfsPeriod: deps.support.cpuQuota,
    CpuCfsQuota: deps.support.cpuQuota,
    CPUShares: true,
    PidsLimit: deps.support.pidsLimit,
    IPv4Forwarding: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1',
    Debug: false,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    // A unified hierarchy at the root is cgroup v2; a hybrid host (v1 controllers, /sys/fs/cgroup/unified) is v1.
    CgroupVersion: existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: 'wharf',
    OSVersion: '',
    OSType: 'linux',
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: {
      InsecureRegistryCIDRs: ['127.0.0.0/8', ...deps.insecureRegistries.filter((r) => r.includes('/'))],
      // `docker info` lists these (Secure false) and the CIDRs under "Insecure Registries"; dockerd always has
      // Docker Hub's entry, carrying the mirrors.
      IndexConfigs: {
        'docker.io': { Name: 'docker.io', Mirrors: [...deps.registryMirrors], Secure: true, Official: true },
        ...Object.fromEntries(
          deps.insecureRegistries.filter((r) => !r.includes('/')).map((name) => [name, { Name: name, Mirrors: [], Secure: false, Official: false }]),
        ),
      },
      // "Registry Mirrors" in `docker info`.
      Mirrors: [...deps.registryMirrors],
    },
    NCPU: availableParallelism(),
    MemTotal: totalmem(),
    DockerRootDir: deps.rootDir,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: deps.version,
    Runtimes: { [deps.runtimeName]: { path: deps.runtimeName } },
    DefaultRuntime: deps.runtimeName,
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: 'docker-init',
    SecurityOptions: ['name=seccomp,profile=builtin'],
    Warnings: supportWarnings(deps.support),
  };
}

/** moby daemon/info_unix.go: what `docker info` prints last, one line per limit the host cannot enforce. */
function supportWarnings(support: ResourceSupport): string[] | null {
  const warnings = [
    ...(support.swapLimit ? [] : ['WARNING: No swap limit support']),
    ...(support.cpuQuota ? [] : ['WARNING: No cpu cfs quota support', 'WARNING: No cpu cfs period support']),
    ...(support.pidsLimit ? [] : ['WARNING: No pids limit support']),
    ...(support.blkioWeight ? [] : ['WARNING: No blkio weight support']),
  ];
  return warnings.length ? warnings : null;
}

function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}

/**
 * GET /events: replay the ring buffer from `since`, then follow live events until `until` or the client leaves.
 * Headers are flushed first: the CLI waits for them before it prints anything.
 */
async function streamEvents(events: EventLog, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const now = Date.now();
  const { filters, since, until } = inputOf(schemas.events, ctx).query;
  const sinceNano = since ? parseTimestamp(since, now) * 1e6 : undefined;
  const untilNano = until ? parseTimestamp(until, now) * 1e6 : undefined;
  const stream = new JsonStream(res);
  stream.start();
  const send = (event: EngineEvent) => {
    if (matchesEvent(event, filters)) stream.write(event);
  };
  // Subscribe before replaying so nothing emitted in between is lost; replayed ones are skipped live.
  const live: EngineEvent[] = [];
  let replaying = true;
  const unsubscribe = events.subscribe((e) => (replaying ? live.push(e) : send(e)));
  const replayed = sinceNano !== undefined ? events.history(sinceNano, untilNano) : [];
  for (const event of replayed) send(event);
  const last = replayed.at(-1)?.timeNano ?? 0;
  for (const event of live) if (event.timeNano > last && (untilNano === undefined || event.timeNano <= untilNano)) send(event);
  replaying = false;
  const remaining = untilNano !== undefined ? untilNano / 1e6 - Date.now() : Number.POSITIVE_INFINITY;
  await new Promise<void>((resolve) => {
    if (remaining <= 0) return resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    if (Number.isFinite(remaining)) setTimeout(resolve, remaining).unref();
  });
  unsubscribe();
  stream.end();
  return 'streamed';
}

/** Filter keys moby supports for events; an event matches when every given key matches one of its values. */
function matchesEvent(event: EngineEvent, filters: Filters): boolean {
  const attrs = event.Actor.Attributes;
  for (const [key, values] of filters) {
    if (!values.length) continue;
    const ok = (() => {
      switch (key) {
        case 'type':
          return values.includes(event.Type);
        case 'event':
          return values.some((v) => event.Action === v || event.Action.startsWith(`${v}:`));
        case 'container':
          return event.Type === 'container' && values.some((v) => event.Actor.ID.startsWith(v) || attrs.name === v);
        case 'volume':
          // moby's fuzzyMatchName: a prefix of the actor's ID or name.
          return values.some((v) => event.Actor.ID.startsWith(v) || (attrs.name ?? '').startsWith(v));
        case 'image':
          return values.some((v) => attrs.image === v || event.Actor.ID === v || attrs.name === v);
        case 'network':
          return event.Type === 'network' && values.some((v) => event.Actor.ID.startsWith(v) || attrs.name === v);
        case 'label':
          return values.every((v) => {
            const [k, val] = v.split('=', 2);
            return val === undefined ? attrs[k] !== undefined : attrs[k] === val;
          });
        default:
          return true;
      }
    })();
    if (!ok) return false;
  }
  return true;
}

/** POST /auth: perform the registry handshake with the given credentials; the CLI stores them itself. */
async function login(registry: RegistryClient, ctx: ApiContext): Promise<Reply> {
  const body = inputOf(schemas.auth, ctx).body;
  if (!body?.serveraddress && !body?.username) throw new Fault('invalid-argument', 'missing serveraddress');
  const auth: RegistryAuth = { username: body.username, password: body.password, identityToken: body.identitytoken };
  await registry.login(body.serveraddress ?? 'https://index.docker.io/v1/', auth);
  return { status: 200, json: { Status: 'Login Succeeded', IdentityToken: '' } };
}
