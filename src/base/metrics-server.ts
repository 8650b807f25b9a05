import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { formatHostPort, parseListenAddress } from './listen-address.ts';
import type { Logger } from './log.ts';

export interface MetricsServerOptions {
  /** `HOST:PORT`; `:PORT` binds loopback only (parseListenAddress). */
  addr: string;
  path: string;
  registry: Registry;
  logger: Logger;
}

export interface MetricsServer {
  /** `http://host:port` as bound (port 0 resolved). */
  url: string;
  close(): Promise<void>;
}

/**
 * A listener of its own that answers `GET <path>` with the registry's exposition, like distribution's debug
 * address and dockerd's `--metrics-addr`. It has no auth: bind it where only the scraper reaches.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(options.addr);
  const server = createServer((request, response) => void answer(request, response, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${formatHostPort(host, bound)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(request: IncomingMessage, response: ServerResponse, options: MetricsServerOptions): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== options.path) return plain(response, 404, '404 page not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') return plain(response.setHeader('allow', 'GET, HEAD'), 405, 'method not allowed\n');
  try {
    const body = await options.registry.metrics();
    response.writeHead(200, { 'content-type': options.registry.contentType, 'content-length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch (err) {
    options.logger.warn({ err }, 'metrics collection failed');
    plain(response, 500, 'metrics collection failed\n');
  }
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
