import type { IncomingMessage, Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../base/log.ts';
import { type MetricsServer, startMetricsServer } from '../base/metrics-server.ts';
import type { Router } from './api/router.ts';
import type { ContainerStatus } from './containers/container-record.ts';

export interface EngineMetricsOptions {
  /** `engine.metricsAddr`, dockerd's `--metrics-addr`. */
  addr: string;
  /** Every container's state now; read on each scrape (in memory, no I/O). */
  containerStates: () => ContainerStatus[];
  imageCount: () => number;
  /** The Engine API's server and routing table, for request counts by route name. */
  api: Server;
  router: Router;
  logger: Logger;
}

// Every state docker ps knows, so a state with no container is a 0 rather than a missing series.
const containerStatuses: ContainerStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

/** The engine's Prometheus metrics on a TCP listener of its own, as dockerd serves them on `--metrics-addr`. */
export async function startEngineMetrics(options: EngineMetricsOptions): Promise<MetricsServer> {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'wharf_engine_containers',
    help: 'Containers by state (docker ps -a STATUS).',
    labelNames: ['state'],
    registers,
    collect() {
      const states = options.containerStates();
      for (const state of containerStatuses) this.set({ state }, states.filter((s) => s === state).length);
    },
  });
  new Gauge({ name: 'wharf_engine_images', help: 'Images in the engine\'s store (docker images -a).', registers, collect() { this.set(options.imageCount()); } });
  const requests = new Counter({
    name: 'wharf_engine_api_requests_total',
    help: 'Engine API requests answered, by route, method and status code (101: hijacked).',
    labelNames: ['route', 'method', 'code'],
    registers,
  });
  countRequests(options, requests);
  return startMetricsServer({ addr: options.addr, path: '/metrics', registry, logger: options.logger });
}

function countRequests(options: EngineMetricsOptions, requests: Counter<'route' | 'method' | 'code'>): void {
  const labels = (req: IncomingMessage, code: number) => {
    const method = req.method ?? 'GET';
    return { route: routeName(options.router, method, req.url), method, code: String(code) };
  };
  options.api.on('request', (req, res) => res.once('close', () => requests.inc(labels(req, res.statusCode))));
  options.api.on('upgrade', (req: IncomingMessage) => requests.inc(labels(req, 101)));
}

/**
 * The route a request names, whatever its version prefix: this runs in event listeners, where a throw would
 * kill the engine, so an unsupported version (which the dispatcher refuses with a 400) is stripped, not checked.
 */
function routeName(router: Router, method: string, url: string | undefined): string {
  const pathname = URL.parse(url ?? '/', 'http://engine')?.pathname ?? '/';
  const versioned = /^\/v[0-9.]+(\/.*)?$/.exec(pathname);
  const path = versioned ? (versioned[1] ?? '/') : pathname;
  return router.match(method, path)?.route.name ?? 'unknown';
}
