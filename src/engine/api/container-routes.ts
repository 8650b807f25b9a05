import { execFile } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Fault } from '../../base/fault.ts';
import { visibleChanges } from '../containers/container-changes.ts';
import type { ContainerManager, WaitCondition } from '../containers/container-manager.ts';
import type { LogEntry } from '../containers/container-log.ts';
import { encodeEntry, readLog } from '../containers/log-reader.ts';
import { parseDetachKeys } from '../containers/detach-keys.ts';
import type { ContainerRecord } from '../containers/container-record.ts';
import type { Snapshotter } from '../snapshots/snapshotter.ts';
import { versionAtLeast } from './api-version.ts';
import { commonHeaders } from './api-server.ts';
import { containerInspect, containerSummary } from './container-json.ts';
import { containerInspectForVersion } from './version-gates.ts';
import { listContainers } from './container-list.ts';
import { containerSchemas as schemas } from './container-schemas.ts';
import { parseTimestamp } from './query.ts';
import { inputOf } from './route-schema.ts';
import type { ApiContext, Reply, Route } from './router.ts';

const run = promisify(execFile);

export interface ContainerRouteDeps {
  containers: ContainerManager;
  snapshotter: Snapshotter;
  serverHeader: string;
  /** Running exec IDs of a container, for inspect's ExecIDs. */
  execIds?: (containerId: string) => string[];
  now?: () => number;
}

export function containerRoutes(deps: ContainerRouteDeps): Route[] {
  const { containers } = deps;
  const now = deps.now ?? Date.now;
  const post = (name: string, path: string, handle: Route['handle'], schema?: Route['schema']): Route => ({ name, method: 'POST', path, schema, handle });
  return [
    {
      name: 'container-list',
      method: 'GET',
      path: '/containers/json',
      schema: schemas.list,
      handle: async (ctx) => ({ status: 200, json: listContainers(containers, inputOf(schemas.list, ctx).query, now()) }),
    },
    { name: 'container-create', method: 'POST', path: '/containers/create', body: 'json', schema: schemas.create, handle: (ctx) => create(containers, ctx) },
    { name: 'container-inspect', method: 'GET', path: '/containers/{id}/json', schema: schemas.inspect, handle: (ctx) => inspect(deps, ctx) },
    { name: 'container-logs', method: 'GET', path: '/containers/{id}/logs', schema: schemas.logs, handle: (ctx, res) => logs(containers, ctx, res) },
    { name: 'container-top', method: 'GET', path: '/containers/{id}/top', schema: schemas.top, handle: (ctx) => top(containers, ctx) },
    { name: 'container-changes', method: 'GET', path: '/containers/{id}/changes', handle: (ctx) => changes(deps, ctx) },
    { name: 'commit', method: 'POST', path: '/commit', body: 'json', schema: schemas.commit, handle: (ctx) => commit(containers, ctx) },
    {
      name: 'container-export',
      method: 'GET',
      path: '/containers/{id}/export',
      handle: async (ctx, res) => {
        const tar = await containers.export(ctx.params.id);
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        await pipeline(tar, res).catch(() => res.destroy());
        return 'streamed';
      },
    },
    post('container-start', '/containers/{id}/start', async (ctx) => ({ status: (await containers.start(ctx.params.id)) ? 204 : 304 })),
    post(
      'container-stop',
      '/containers/{id}/stop',
      async (ctx) => {
        const { t, signal } = inputOf(schemas.stop, ctx).query;
        return { status: (await containers.stop(ctx.params.id, { timeout: t, signal })) ? 204 : 304 };
      },
      schemas.stop,
    ),
    post(
      'container-restart',
      '/containers/{id}/restart',
      async (ctx) => (await containers.restart(ctx.params.id, inputOf(schemas.restart, ctx).query.t), { status: 204 }),
      schemas.restart,
    ),
    post(
      'container-kill',
      '/containers/{id}/kill',
      async (ctx) => (await containers.kill(ctx.params.id, inputOf(schemas.kill, ctx).query.signal ?? 'KILL'), { status: 204 }),
      schemas.kill,
    ),
    post('container-pause', '/containers/{id}/pause', async (ctx) => (await containers.pause(ctx.params.id), { status: 204 })),
    post('container-unpause', '/containers/{id}/unpause', async (ctx) => (await containers.unpause(ctx.params.id), { status: 204 })),
    post(
      'container-rename',
      '/containers/{id}/rename',
      async (ctx) => (containers.rename(ctx.params.id, inputOf(schemas.rename, ctx).query.name ?? ''), { status: 204 }),
      schemas.rename,
    ),
    post(
      'container-resize',
      '/containers/{id}/resize',
      async (ctx) => {
        const { h, w } = inputOf(schemas.resize, ctx).query;
        containers.resize(ctx.params.id, h, w);
        return { status: 200 };
      },
      schemas.resize,
    ),
    post('container-wait', '/containers/{id}/wait', (ctx, res) => wait(containers, ctx, res), schemas.wait),
    {
      name: 'container-attach',
      method: 'POST',
      path: '/containers/{id}/attach',
      schema: schemas.attach,
      handle: (ctx, res) => attachPlain(deps, ctx, res),
      hijack: (ctx, socket, head) => attachHijacked(deps, ctx, socket, head),
    },
    {
      name: 'container-delete',
      method: 'DELETE',
      path: '/containers/{id}',
      schema: schemas.delete,
      handle: async (ctx) => {
        const { force, v } = inputOf(schemas.delete, ctx).query;
        await containers.remove(ctx.params.id, { force, volumes: v });
        return { status: 204 };
      },
    },
  ];
}

async function create(containers: ContainerManager, ctx: ApiContext): Promise<Reply> {
  const { query, body } = inputOf(schemas.create, ctx);
  if (!body) throw new Fault('invalid-argument', 'config cannot be empty in order to create a container');
  const created = await containers.create(body, query.name);
  return { status: 201, json: created };
}

async function inspect(deps: ContainerRouteDeps, ctx: ApiContext): Promise<Reply> {
  const record = deps.containers.store.resolve(ctx.params.id);
  const mounts = await deps.snapshotter.mounts(record.snapshotKey).catch(() => []);
  const overlay = mounts.find((m) => m.type === 'overlay');
  const option = (key: string) => overlay?.options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
  const dir = deps.containers.store.dirOf(record.id);
  const rootfs = overlay
    ? { lower: option('lowerdir'), upper: option('upperdir'), work: option('workdir'), merged: join(dir, 'bundle', 'rootfs') }
    : undefined;
  const json = containerInspect(
    record,
    {
      logPath: deps.containers.logPath(record.id),
      rootfs,
      resolvConf: join(dir, 'bundle', 'resolv.conf'),
      hostname: join(dir, 'bundle', 'hostname'),
      hosts: join(dir, 'bundle', 'hosts'),
    },
    deps.execIds?.(record.id) ?? [],
  );
  return { status: 200, json: containerInspectForVersion(json, ctx.version) };
}

/** POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=, the body a container config (or nothing). */
async function commit(containers: ContainerManager, ctx: ApiContext): Promise<Reply> {
  const { query, body } = inputOf(schemas.commit, ctx);
  const { container, ...options } = query;
  if (!container) throw new Fault('invalid-argument', 'container is required');
  const id = await containers.commit(container, { ...options, config: body ?? null });
  return { status: 201, json: { Id: id } };
}

/** `docker diff`: moby's kinds are 0 changed, 1 added, 2 deleted. */
async function changes(deps: ContainerRouteDeps, ctx: ApiContext): Promise<Reply> {
  const record = deps.containers.store.resolve(ctx.params.id);
  if (!deps.snapshotter.changes) throw new Fault('not-implemented', 'this snapshotter cannot list changes');
  const kinds = { modified: 0, added: 1, deleted: 2 } as const;
  const list = visibleChanges(await deps.snapshotter.changes(record.snapshotKey));
  return { status: 200, json: list.map((c) => ({ Path: c.path, Kind: kinds[c.kind] })) };
}

/** POST /containers/{id}/wait: flush the headers first — `docker run` only starts the container after them. */
async function wait(containers: ContainerManager, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const condition: WaitCondition = inputOf(schemas.wait, ctx).query.condition ?? 'not-running';
  const result = containers.wait(ctx.params.id, condition);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const code = await result;
  res.end(`${JSON.stringify({ StatusCode: code, Error: null })}\n`);
  return 'streamed';
}

// attach: moby's hijack, then the log replay, then the live streams.

interface AttachQuery {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  stream: boolean;
  logs: boolean;
  detachKeys?: string;
}

function attachOptions(ctx: ApiContext): AttachQuery {
  const { stdin, stdout, stderr, stream, logs, detachKeys } = inputOf(schemas.attach, ctx).query;
  return { stdin, stdout, stderr, stream, logs, detachKeys };
}

function streamContentType(record: ContainerRecord, version: string): string {
  // moby >= 1.42 names the framing in the header; the CLI still decides from Config.Tty.
  return !record.config.Tty && versionAtLeast(version, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

/**
 * Everything an attach needs, taken in one tick before any byte goes out: the container (a missing one is a
 * plain 404), the detach keys (moby's 400), the log entries so far and, when streaming, a buffer registered
 * on the container's streams (moby #29285: output between the response and the registration was lost).
 */
function openAttach(deps: ContainerRouteDeps, ctx: ApiContext, stdin: Readable | undefined) {
  const record = deps.containers.store.resolve(ctx.params.id);
  const options = attachOptions(ctx);
  parseDetachKeys(options.detachKeys);
  const { log } = deps.containers.logSource(record.id);
  if (options.logs && !log.readable) throw new Fault('not-implemented', 'configured logging driver does not support reading');
  const live = options.stream ? new PassThrough() : undefined;
  if (live) deps.containers.attach(record.id, live, stdin, { ...options, stdin: options.stdin && stdin !== undefined });
  let entries: Readable | undefined;
  if (options.logs) {
    const { snapshot, stop } = log.follow(() => undefined);
    stop();
    entries = readLog(snapshot, {}, { stdout: options.stdout, stderr: options.stderr, tty: record.config.Tty, timestamps: false });
  }
  return { record, options, live, entries };
}

/** moby writes the log replay, then the live output, then ends the connection (the container's run ended). */
async function sendAttach(session: ReturnType<typeof openAttach>, out: Writable): Promise<void> {
  const { live, entries } = session;
  try {
    if (entries) await pipeline(entries, out, { end: false });
  } catch {
    // The client left (or the log could not be read) mid-replay: cut the connection and drop the live streams.
    live?.destroy();
    out.destroy();
    return;
  }
  if (live) await pipeline(live, out).catch(() => live.destroy());
  else out.end();
}

/** The hijack: `101 UPGRADED` for `Upgrade: tcp` (the header before any frame, logs or not), stdin from the socket. */
async function attachHijacked(deps: ContainerRouteDeps, ctx: ApiContext, socket: Duplex, head: Buffer): Promise<void> {
  // Node's default socket timeouts must not cut a long attach.
  (socket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
  if (head.length) socket.unshift(head);
  // dockerode sends its options as a body; moby never reads it and it never reaches stdin.
  await dropBody(socket, Number(ctx.req.headers['content-length'] ?? 0));
  const session = openAttach(deps, ctx, socket);
  const headers = Object.entries(commonHeaders(deps.serverHeader))
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${streamContentType(session.record, ctx.version)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${headers}\r\n`,
  );
  await sendAttach(session, socket);
}

/** Reads and discards the first `length` bytes of a hijacked connection, leaving the rest to be read. */
function dropBody(socket: Duplex, length: number): Promise<void> {
  let left = Number.isSafeInteger(length) && length > 0 ? length : 0;
  return new Promise((resolve) => {
    const take = () => {
      for (let chunk: Buffer | null; left > 0 && (chunk = socket.read() as Buffer | null); ) {
        if (chunk.length > left) socket.unshift(chunk.subarray(left));
        left -= Math.min(left, chunk.length);
      }
      if (left > 0) return;
      socket.off('readable', take).off('end', done);
      resolve();
    };
    const done = () => (socket.off('readable', take), resolve());
    if (!left) return resolve();
    socket.on('readable', take).once('end', done);
    take();
  });
}

/**
 * Attach without `Upgrade` (older clients): moby answers `200 OK` with the raw-stream type whatever the TTY,
 * and the body carries the output until the run ends. There is no stdin here: node's HTTP parser owns the
 * request side of the connection.
 */
async function attachPlain(deps: ContainerRouteDeps, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const session = openAttach(deps, ctx, undefined);
  // moby's hijacked answer has no chunking: the body is the raw stream up to the close.
  res.useChunkedEncodingByDefault = false;
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
  res.flushHeaders();
  await sendAttach(session, res);
  return 'streamed';
}

/**
 * GET /containers/{id}/logs: entries from the json-file log, then (with follow, while it runs) live ones until
 * the container stops. Subscribing and sizing the file happen in one tick, so nothing is lost or doubled.
 */
async function logs(containers: ContainerManager, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const q = inputOf(schemas.logs, ctx).query;
  const wantOut = q.stdout;
  const wantErr = q.stderr;
  if (!wantOut && !wantErr) throw new Fault('invalid-argument', 'Bad parameters: you must choose at least one stream');
  const source = containers.logSource(ctx.params.id);
  const { record, log } = source;
  if (!log.readable) throw new Fault('not-implemented', 'configured logging driver does not support reading');
  const nowMs = Date.now();
  const { since, until } = q;
  const sinceMs = since && since !== '0' ? parseTimestamp(since, nowMs) : undefined;
  const untilMs = until && until !== '0' ? parseTimestamp(until, nowMs) : undefined;
  const tail = tailCount(q.tail);
  const timestamps = q.timestamps;
  const follow = q.follow && source.running !== undefined && untilMs === undefined;
  const encoding = { stdout: wantOut, stderr: wantErr, tty: record.config.Tty, timestamps };
  const pending: LogEntry[] = [];
  let live = false;
  const send = (e: LogEntry) => {
    const bytes = encodeEntry(e, encoding);
    if (bytes && res.writable) res.write(bytes);
  };
  const subscription = log.follow((e) => (live ? send(e) : pending.push(e)));
  if (!follow) subscription.stop();
  res.writeHead(200, { 'Content-Type': streamContentType(record, ctx.version) });
  res.flushHeaders();
  try {
    await pipeline(readLog(subscription.snapshot, { tail, sinceMs, untilMs }, encoding), res, { end: false });
    if (follow) {
      for (const entry of pending.splice(0)) send(entry);
      live = true;
      await Promise.race([source.running, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))]);
    }
  } finally {
    subscription.stop();
  }
  res.end();
  return 'streamed';
}

/** moby (daemon/logs.go): a tail that is not a whole number, or is negative, means every line. */
function tailCount(text: string | undefined): number | undefined {
  const n = Number(text);
  return text && /^\d+$/.test(text) && Number.isSafeInteger(n) ? n : undefined;
}

/** GET /containers/{id}/top: the host's `ps` (moby runs it the same way), rows narrowed to the container's pids. */
async function top(containers: ContainerManager, ctx: ApiContext): Promise<Reply> {
  const pids = new Set(await containers.pids(ctx.params.id));
  const args = (inputOf(schemas.top, ctx).query.ps_args ?? '-ef').split(/\s+/).filter(Boolean);
  let stdout: string;
  try {
    ({ stdout } = await run('ps', args, { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    throw new Fault('invalid-argument', `ps: ${(err as Error).message}`, { cause: err });
  }
  const lines = stdout.trimEnd().split('\n');
  const titles = lines[0].trim().split(/\s+/);
  const pidColumn = titles.indexOf('PID');
  if (pidColumn < 0) throw new Fault('invalid-argument', `Couldn't find PID field in ps output`);
  const processes = lines
    .slice(1)
    .map((line) => splitColumns(line, titles.length))
    .filter((row) => pids.has(Number(row[pidColumn])));
  return { status: 200, json: { Titles: titles, Processes: processes } };
}

function splitColumns(line: string, count: number): string[] {
  const parts = line.trim().split(/\s+/);
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join(' ')];
}

export { containerSummary };
