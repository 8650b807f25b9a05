import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SessionInfo } from '../web/api-types.ts';

/** Where scripts/build-ui.ts writes the bundle. */
export const defaultUiDir = resolve(import.meta.dirname, '../../dist/ui');

// Every script and style is a file of the bundle: nothing inline, nothing from elsewhere.
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Whether an `Accept-Encoding` header takes gzip (a `q=0` refuses it; `*` takes it unless gzip is refused). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  const weights = new Map<string, number>();
  for (const part of header.toLowerCase().split(',')) {
    const [coding, ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    weights.set(coding.trim(), q ? Number(q.slice(2)) || 0 : 1);
  }
  return (weights.get('gzip') ?? weights.get('x-gzip') ?? weights.get('*') ?? 0) > 0;
}

/** The file `relative` names inside `dir`, or null when it would leave `dir` (`..`, absolute paths, NUL). */
export function insideDir(dir: string, relative: string): string | null {
  if (relative === '' || relative.includes('\0')) return null;
  const path = resolve(dir, relative);
  return path.startsWith(dir + sep) ? path : null;
}

async function openFile(path: string): Promise<{ handle: FileHandle; size: number } | null> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const stat = await handle.stat();
    if (stat.isFile()) return { handle, size: stat.size };
  } catch {
    // Missing or unreadable: the caller answers 404.
  }
  await handle?.close();
  return null;
}

/**
 * Streams an opened file as the whole answer. Past the headers a read failure can only cut the connection (the
 * client sees a short body), so it is logged and the socket destroyed.
 */
async function streamFile(reply: FastifyReply, answer: { file: { handle: FileHandle; size: number }; headers: Record<string, string> }): Promise<void> {
  const { file, headers } = answer;
  const request = reply.request;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { ...securityHeaders, ...headers, 'content-length': String(file.size) });
  if (request.method === 'HEAD') {
    await file.handle.close();
    res.end();
    return;
  }
  try {
    await pipeline(file.handle.createReadStream(), res);
  } catch (err) {
    request.log.warn({ err, url: request.url }, 'UI file download failed');
    res.destroy();
  }
}

async function readPage(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

const attributeEscapes: Record<string, string> = { '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;', "'": '&#39;' };

/**
 * index.html with the caller's session in a `<meta name="wharf-session">` (the app's first render needs no round
 * trip for it). It holds the CSRF token: never stored by a cache, and never readable by another origin's page.
 */
function sendWithSession(reply: FastifyReply, page: string, session: SessionInfo): FastifyReply {
  const content = JSON.stringify(session).replace(/[&"<>']/g, (c) => attributeEscapes[c]);
  const html = page.replace('<head>', `<head>\n    <meta name="wharf-session" content="${content}" />`);
  return reply.code(200).headers({ ...securityHeaders, 'cache-control': 'no-store' }).type(contentTypes['.html']).send(html);
}

function notBuilt(reply: FastifyReply, dir: string): FastifyReply {
  return reply
    .code(503)
    .headers({ ...securityHeaders, 'cache-control': 'no-store' })
    .type('text/plain; charset=utf-8')
    .send(`The web UI is not built (no ${dir}/index.html). Run \`node scripts/build-ui.ts\` in the wharf checkout, then reload.\n`);
}

/**
 * The web UI (src/web, bundled by scripts/build-ui.ts): `/` and every `/ui/…` page answer index.html (history
 * routing, never cached), `/ui/assets/…` the hashed bundle files, cached for good, gzipped when the client takes
 * it. Without a build the `/ui` pages answer 503 saying how to build it and `/` is registry:2's empty 200 (what load
 * balancers probe); the registry serves on regardless.
 */
export function registerStaticUi(app: FastifyInstance, options: { dir?: string; session?: (request: FastifyRequest) => Promise<SessionInfo | undefined> } = {}): void {
  const dir = options.dir ?? defaultUiDir;
  const assets = resolve(dir, 'assets');
  const index = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = options.session && (await options.session(request));
    if (session) {
      const page = await readPage(resolve(dir, 'index.html'));
      if (page) return sendWithSession(reply, page, session);
    }
    const file = await openFile(resolve(dir, 'index.html'));
    // `/` stays registry:2's empty 200 without a build: load balancers probe it.
    if (!file && request.routeOptions.url === '/') return reply.header('cache-control', 'no-cache').send('');
    if (!file) return notBuilt(reply, dir);
    return streamFile(reply, { file, headers: { 'content-type': contentTypes['.html'], 'cache-control': 'no-cache' } });
  };
  const asset = async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    const path = insideDir(assets, request.params['*']);
    const gzip = path && contentTypes[extname(path)] && acceptsGzip(request.headers['accept-encoding']) ? await openFile(`${path}.gz`) : null;
    const file = gzip ?? (path ? await openFile(path) : null);
    if (!file) return reply.code(404).headers(securityHeaders).type('text/plain; charset=utf-8').send('404 page not found\n');
    const headers: Record<string, string> = {
      'content-type': contentTypes[extname(path as string)] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'accept-encoding',
    };
    if (gzip) headers['content-encoding'] = 'gzip';
    return streamFile(reply, { file, headers });
  };
  app.get('/', index);
  app.get('/ui', index);
  app.get('/ui/*', index);
  app.get('/ui/assets/*', asset);
}
