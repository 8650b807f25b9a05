import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { renderError } from './api-errors.ts';
import { apiVersion, splitVersion } from './api-version.ts';
import { parseRouteInput } from './route-schema.ts';
import type { ApiContext, Reply, Router } from './router.ts';
import { settleUnreadBody } from './unread-body.ts';

const maxJsonBody = 16 * 1024 * 1024;

export interface ApiServerOptions {
  router: Router;
  logger: Logger;
  serverHeader: string;
}

/** Headers moby puts on every response (api/server/middleware/version.go); the CLI reads them from `_ping`. */
export function commonHeaders(serverHeader: string): Record<string, string> {
  return { 'Api-Version': apiVersion, Ostype: 'linux', Server: serverHeader, 'Docker-Experimental': 'false' };
}

/**
 * The Docker Engine API over node:http. Routing is a table (router.ts); this file is the dispatcher: version
 * prefix, body parsing, the error rendering (exact `application/json`, which the Go client compares with ==),
 * and the hijack path for `Upgrade: tcp` requests, which node:http hands to the 'upgrade' event.
 */
export function createApiServer(options: ApiServerOptions): ApiServer {
  // requestTimeout 0: `docker import`/`load` bodies may stream for longer than node's 5 minute default.
  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 0 });
  server.keepAliveTimeout = 0;
  // Hijacked sockets leave node's connection tracking; keep them so close() can end them.
  const hijacked = new Set<Duplex>();
  server.on('request', (req, res) => void dispatch(options, req, res));
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    hijacked.add(socket);
    socket.once('close', () => hijacked.delete(socket));
    void dispatchUpgrade(options, req, socket, head);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return {
    server,
    listen: (socketPath) => listenOnSocket(server, socketPath),
    close: async (socketPath) => {
      for (const socket of hijacked) socket.destroy();
      await closeServer(server, socketPath);
    },
  };
}

export interface ApiServer {
  server: Server;
  listen(socketPath: string): Promise<void>;
  close(socketPath: string): Promise<void>;
}

async function dispatch(options: ApiServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = commonHeaders(options.serverHeader);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort(new Fault('unavailable', 'client disconnected'));
  });
  try {
    const ctx = await contextFor(req, abort.signal);
    const matched = options.router.match(ctx.method, ctx.path);
    if (!matched) throw new Fault('not-found', 'page not found');
    ctx.params = matched.params;
    if (matched.route.body === 'json') ctx.body = await readJson(req);
    if (matched.route.schema) ctx.input = parseRouteInput(matched.route.schema, ctx);
    const reply = await matched.route.handle(ctx, res);
    if (reply === 'streamed') return;
    await settleUnreadBody(req, res);
    sendReply(res, reply, req.method === 'HEAD');
  } catch (err) {
    await renderFailure(options.logger, req, res, err);
  }
}

async function contextFor(req: IncomingMessage, signal: AbortSignal): Promise<ApiContext> {
  const url = new URL(req.url ?? '/', 'http://engine');
  const { version, path } = splitVersion(url.pathname);
  return { method: req.method ?? 'GET', path, version, params: {}, query: url.searchParams, req, signal };
}

export function sendReply(res: ServerResponse, reply: Exclude<Reply, 'streamed'>, head = false): void {
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  if (reply.json !== undefined) {
    const body = JSON.stringify(reply.json);
    res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
  } else if (reply.text !== undefined) {
    res.writeHead(reply.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(reply.text) });
    res.end(head ? undefined : reply.text);
  } else {
    res.writeHead(reply.status);
    res.end();
  }
}

async function renderFailure(logger: Logger, req: IncomingMessage, res: ServerResponse, err: unknown): Promise<void> {
  const { status, message } = renderError(err);
  if (status >= 500) logger.warn({ err, url: req.url }, 'engine api request failed');
  else logger.debug({ url: req.url, status, message }, 'engine api request refused');
  if (res.headersSent) {
    // Mid-stream: there is no way to report in-band for raw bodies; cut the connection so the client notices.
    res.destroy();
    return;
  }
  await settleUnreadBody(req, res);
  if (res.destroyed) return;
  sendReply(res, { status, json: { message } }, req.method === 'HEAD');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Left open on a throw, so the refusal can still be answered on this connection (settleUnreadBody).
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > maxJsonBody) throw new Fault('too-large', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new Fault('invalid-argument', `invalid JSON: ${(cause as Error).message}`, { cause });
  }
}

async function dispatchUpgrade(options: ApiServerOptions, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy());
  const abort = new AbortController();
  socket.once('close', () => abort.abort(new Fault('unavailable', 'client disconnected')));
  try {
    const ctx = await contextFor(req, abort.signal);
    const matched = options.router.match(ctx.method, ctx.path);
    if (!matched?.route.hijack) throw new Fault('not-found', 'page not found');
    ctx.params = matched.params;
    // An upgrade request's body is unread here (ctx.body undefined); a hijack handler that reads one parses it.
    if (matched.route.schema) ctx.input = parseRouteInput(matched.route.schema, ctx);
    await matched.route.hijack(ctx, socket, head);
  } catch (err) {
    const { status, message } = renderError(err);
    if (status >= 500) options.logger.warn({ err, url: req.url }, 'engine api hijack failed');
    writeRawError(socket, status, message, options.serverHeader);
  }
}

/** Before the 101 nothing is written yet, so errors go out as an ordinary HTTP response on the raw socket. */
export function writeRawError(socket: Duplex, status: number, message: string, serverHeader: string): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify({ message });
  const headers = Object.entries(commonHeaders(serverHeader))
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\n${headers}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function statusText(status: number): string {
  return ({ 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error' } as Record<
    number,
    string
  >)[status] ?? 'Error';
}

/** Listens on a unix socket, replacing a stale socket file, readable by root only like docker.sock's 0660. */
async function listenOnSocket(server: Server, socketPath: string): Promise<void> {
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o660);
}

async function closeServer(server: Server, socketPath: string): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  rmSync(socketPath, { force: true });
}
