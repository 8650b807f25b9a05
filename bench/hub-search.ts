/**
 * The hub's repository search server side (issue 16: aim < 50 ms) on 10,000 repositories, SQLite and a private
 * PostgreSQL 15 side by side, rounds alternating between them:
 * - the store call alone (MetadataStore.searchRepositories, a page of 100): an empty query (the first page of
 *   the catalog), a query most names hold, one a few hold, one none holds (the whole table read);
 * - GET /api/v1/repositories?q=&n=50 in-process (fastify inject: routing, query parsing, JSON), as an admin and
 *   as a user who may pull one name in a hundred (the search reads store pages growing from 100 to 1,000 names
 *   until it has 50: this case reads 5,000 names in seven queries).
 * The repositories' own catalog page (listRepositories, 100 names) runs beside them as the floor.
 *
 *   node bench/hub-search.ts [--repositories 10000] [--runs 200]
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadConfig } from '../src/base/config.ts';
import { createLogger } from '../src/base/log.ts';
import { hubErrorHandler } from '../src/hub/api-errors.ts';
import { fixedHubAuth } from '../src/hub/hub-fixture.ts';
import { registerRepositoriesRoutes } from '../src/hub/routes/repositories-routes.ts';
import { type OpenedMeta, openMeta } from '../src/main/open-meta.ts';
import { RegistryService } from '../src/registry/registry-service.ts';
import { DriverBlobStore } from '../src/store/driver-blob-store.ts';
import { MemoryDriver } from '../src/store/memory-driver.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { makeTempDir } from '../test/support/temp.ts';

const { values } = parseArgs({ options: { repositories: { type: 'string', default: '10000' }, runs: { type: 'string', default: '200' } } });
const repositories = Number(values.repositories);
const runs = Number(values.runs);

interface Engine {
  name: string;
  stores: OpenedMeta;
  admin: FastifyInstance;
  fewPullable: FastifyInstance;
}

/** `team-17/service-0423`: 100 namespaces, names sorted as a registry's catalog is. */
const nameOf = (i: number) => `team-${String(i % 100).padStart(2, '0')}/service-${String(i).padStart(5, '0')}`;

async function openEngine(name: string, meta: { url?: string }, root: string): Promise<Engine> {
  const config = loadConfig({ overrides: { root, meta: meta.url ? { url: meta.url } : undefined } });
  const logger = createLogger({ level: 'silent' });
  const stores = await openMeta(config);
  for (let i = 0; i < repositories; i++) await stores.meta.ensureRepository(nameOf(i));
  const registry = new RegistryService({ blobs: new DriverBlobStore({ driver: new MemoryDriver() }), meta: stores.meta, config, logger });
  const api = async (auth: ReturnType<typeof fixedHubAuth>) => {
    const app = Fastify();
    app.register(async (scope) => {
      scope.setErrorHandler(hubErrorHandler(logger));
      registerRepositoriesRoutes(scope, { auth, registry, stores });
    }, { prefix: '/api/v1' });
    await app.ready();
    return app;
  };
  // The first name of each namespace: one in a hundred, spread evenly through the name order.
  const onePercent = (repository: string) => (Number(repository.slice(-5)) < 100 ? ['pull' as const] : []);
  return { name, stores, admin: await api(fixedHubAuth({ account: 'root', admin: true })), fewPullable: await api(fixedHubAuth({ account: 'alice', admin: false }, onePercent)) };
}

const cases: [string, (e: Engine) => Promise<unknown>][] = [
  ['store: catalog page (floor)', (e) => e.stores.meta.listRepositories({ n: 100 })],
  ['store: q="" (n=100)', (e) => e.stores.meta.searchRepositories('', { n: 100 })],
  ['store: q="service" (all hold it)', (e) => e.stores.meta.searchRepositories('service', { n: 100 })],
  ['store: q="0042" (a few)', (e) => e.stores.meta.searchRepositories('0042', { n: 100 })],
  ['store: q="nothing" (none: whole table)', (e) => e.stores.meta.searchRepositories('nothing', { n: 100 })],
  ['GET q="" admin', (e) => get(e.admin, '')],
  ['GET q="SERVICE-09" admin', (e) => get(e.admin, 'SERVICE-09')],
  ['GET q="nothing" admin', (e) => get(e.admin, 'nothing')],
  ['GET q="" 1% pullable', (e) => get(e.fewPullable, '')],
];

async function get(app: FastifyInstance, q: string): Promise<void> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/repositories?n=50&q=${encodeURIComponent(q)}` });
  if (res.statusCode !== 200) throw new Error(`GET answered ${res.statusCode}: ${res.body}`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function main(): Promise<void> {
  const tmp = makeTempDir('wharf-bench-hub-search-');
  const postgres = await startPostgres();
  const engines: Engine[] = [];
  try {
    engines.push(await openEngine('sqlite', {}, join(tmp.path, 'sqlite')));
    engines.push(await openEngine('postgres', { url: postgres.url }, join(tmp.path, 'postgres')));
    const loadBefore = loadavg()[0];
    const samples = new Map<string, number[]>();
    for (let run = 0; run < runs; run++) {
      for (const engine of run % 2 === 0 ? engines : [...engines].reverse()) {
        for (const [label, fn] of cases) {
          const key = `${engine.name}\t${label}`;
          samples.set(key, [...(samples.get(key) ?? []), await timed(() => fn(engine))]);
        }
      }
    }
    console.log(`${repositories} repositories, ${runs} runs each; load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`);
    console.log('engine\tcase\tmedian ms\tp95 ms');
    for (const [key, list] of samples) {
      const sorted = [...list].sort((a, b) => a - b);
      console.log(`${key}\t${percentile(sorted, 0.5).toFixed(2)}\t${percentile(sorted, 0.95).toFixed(2)}`);
    }
  } finally {
    for (const engine of engines) {
      await engine.admin.close();
      await engine.fewPullable.close();
      await engine.stores.close();
    }
    await postgres.close();
    tmp.remove();
  }
}

await main();
