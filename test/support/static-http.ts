import { once } from 'node:events';
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';

export interface StaticHttp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Paths asked for, in order (without the query). */
  requests: string[];
  close(): Promise<void>;
}

export interface StaticHttpOptions {
  /** Content-Type per served path (`/ctx.tar`); none is sent for a path not listed. */
  contentTypes?: Record<string, string>;
}

/**
 * Serves the files under `root` on 127.0.0.1 as a plain web server does (GET and HEAD, 404 otherwise): enough for
 * remote build contexts and for git's "dumb HTTP" protocol over a bare repository after `git update-server-info`.
 */
export async function startStaticHttp(root: string, options: StaticHttpOptions = {}): Promise<StaticHttp> {
  const base = resolve(root);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(pathname);
    const path = join(base, pathname);
    const st = path.startsWith(base + sep) ? statSync(path, { throwIfNoEntry: false }) : undefined;
    if (!st?.isFile() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const type = options.contentTypes?.[pathname];
    res.writeHead(200, { 'Content-Length': st.size, ...(type ? { 'Content-Type': type } : {}) });
    if (req.method === 'HEAD') res.end();
    else createReadStream(path).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      return closed;
    },
  };
}
