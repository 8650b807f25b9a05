import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { ContainerExecs } from '../containers/container-exec.ts';
import { commonHeaders } from './api-server.ts';
import { versionAtLeast } from './api-version.ts';
import { execSchemas as schemas } from './exec-schemas.ts';
import { inputOf, parseJsonBody } from './route-schema.ts';
import type { ApiContext, Reply, Route } from './router.ts';

export interface ExecRouteDeps {
  execs: ContainerExecs;
  serverHeader: string;
}

const maxStartBody = 64 * 1024;

export function execRoutes(deps: ExecRouteDeps): Route[] {
  const { execs } = deps;
  return [
    {
      name: 'exec-create',
      method: 'POST',
      path: '/containers/{id}/exec',
      body: 'json',
      schema: schemas.create,
      handle: async (ctx) => ({ status: 201, json: execs.create(ctx.params.id, inputOf(schemas.create, ctx).body ?? {}) }),
    },
    {
      name: 'exec-start',
      method: 'POST',
      path: '/exec/{id}/start',
      body: 'json',
      schema: schemas.start,
      handle: (ctx, res) => startPlain(deps, ctx, res),
      hijack: (ctx, socket, head) => startHijacked(deps, ctx, socket, head),
    },
    {
      name: 'exec-resize',
      method: 'POST',
      path: '/exec/{id}/resize',
      schema: schemas.resize,
      handle: async (ctx) => {
        const { h, w } = inputOf(schemas.resize, ctx).query;
        execs.resize(ctx.params.id, h, w);
        return { status: 200 };
      },
    },
    { name: 'exec-inspect', method: 'GET', path: '/exec/{id}/json', handle: async (ctx) => ({ status: 200, json: execs.inspect(ctx.params.id) }) },
  ];
}

function contentType(tty: boolean, version: string): string {
  return !tty && versionAtLeast(version, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

/**
 * `exec -d` posts without Upgrade: start it and answer 200 with no body. Otherwise the output is the body, framed
 * unless the start request's Tty is set (moby router/container/exec.go goes by it, not by the exec's create).
 */
async function startPlain(deps: ExecRouteDeps, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const body = inputOf(schemas.start, ctx).body;
  const exec = deps.execs.get(ctx.params.id);
  if (body?.Detach) {
    await deps.execs.start(exec.id, {});
    return { status: 200 };
  }
  const tty = body?.Tty ?? false;
  res.writeHead(200, { 'Content-Type': contentType(tty, ctx.version) });
  res.flushHeaders();
  await deps.execs.start(exec.id, { output: res, tty, consoleSize: body?.ConsoleSize });
  return 'streamed';
}

/**
 * The hijacked start. node does not read the body of an upgrade request: its JSON (`{"Detach":false,"Tty":…}`)
 * is in `head` and the first socket data. Exactly Content-Length bytes are the body; only what follows is stdin
 * (socktainer #21 ran the JSON as a shell command).
 */
async function startHijacked(deps: ExecRouteDeps, ctx: ApiContext, socket: Duplex, head: Buffer): Promise<void> {
  const exec = deps.execs.get(ctx.params.id);
  const { body, rest } = await readUpgradeBody(ctx.req, socket, head);
  const start = parseStartBody(body);
  (socket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
  const headers = Object.entries(commonHeaders(deps.serverHeader))
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType(start?.Tty ?? false, ctx.version)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${headers}\r\n`,
  );
  if (rest.length) socket.unshift(rest);
  await deps.execs.start(exec.id, { output: socket, input: socket, tty: start?.Tty ?? false, consoleSize: start?.ConsoleSize });
}

function parseStartBody(body: Buffer) {
  if (!body.length) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new Fault('invalid-argument', `invalid JSON: ${(cause as Error).message}`, { cause });
  }
  return parseJsonBody(schemas.start.body, json);
}

async function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length < 0 || length > maxStartBody) throw new Fault('invalid-argument', 'bad exec start body length');
  let buffered = head;
  while (buffered.length < length) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const onData = (c: Buffer) => done(c);
      const onEnd = () => done(undefined);
      const done = (c: Buffer | undefined) => {
        socket.off('data', onData);
        socket.off('end', onEnd).off('close', onEnd);
        socket.pause();
        resolve(c);
      };
      socket.on('data', onData);
      // A connection reset brings 'close' without 'end'.
      socket.once('end', onEnd).once('close', onEnd);
      socket.resume();
    });
    if (!chunk) throw new Fault('invalid-argument', 'exec start body ended early');
    buffered = Buffer.concat([buffered, chunk]);
  }
  return { body: buffered.subarray(0, length), rest: buffered.subarray(length) };
}
