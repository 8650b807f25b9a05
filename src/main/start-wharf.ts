import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../base/config.ts';
import { createLogger, type Logger } from '../base/log.ts';
import type { Authorizer } from '../auth/authorizer.ts';
import { createAuthServices } from '../auth/create-authorizer.ts';
import { engineBlobReleaser } from './engine-blob-releaser.ts';
import { registerTokenRoutes } from '../auth/token-routes.ts';
import { type OpenedMeta, openMeta } from './open-meta.ts';
import { registerRegistryV1, v1Headers } from '../registry/v1/routes.ts';
import { Notifier } from '../registry/notifications/notifier.ts';
import { startUploadPurger } from '../registry/upload-purger.ts';
import { EngineRoots } from '../registry/gc/engine-roots.ts';
import { GarbageCollector } from '../registry/gc/garbage-collector.ts';
import { startGcScheduler } from '../registry/gc/gc-scheduler.ts';
import { applyScheduledRetention } from '../registry/retention/apply-retention.ts';
import { scheduledCacheExpiry } from '../registry/mirror/expire-cache.ts';
import { ImmutableTags } from '../registry/retention/immutable-tags.ts';
import { registerRegistryV2, registryFrameworkErrors } from '../registry/v2/routes.ts';
import { instrumentRegistry } from '../registry/metrics/instrument-registry.ts';
import { MeteredCollector } from '../registry/metrics/metered-collector.ts';
import { registerMetricsRoute } from '../registry/metrics/metrics-route.ts';
import { RegistryMetrics } from '../registry/metrics/registry-metrics.ts';
import { storageStats } from '../registry/metrics/storage-stats.ts';
import { startTokenServerMetrics } from '../registry/metrics/token-server-metrics.ts';
import { startMetricsServer } from '../base/metrics-server.ts';
import type { BlobStore } from '../store/blob-store.ts';
import { openBlobStore } from './open-blob-store.ts';
import { openPullThrough } from './open-pull-through.ts';
import { collectWhenIdle } from '../base/idle-collector.ts';
import { zodOnlySchemas } from '../base/zod-only-schemas.ts';
import { openReplicaCoordination } from './open-replica-coordination.ts';
import type { ReplicaCoordination } from './replica-coordination.ts';
import { formatHostPort, parseListenAddress } from '../base/listen-address.ts';
import { createHubAuth } from '../hub/auth/create-hub-auth.ts';
import { registerHub } from '../hub/hub-routes.ts';
import { openAutobuilds } from '../hub/builds/open-autobuilds.ts';
import { ActivityLog } from '../hub/activity/activity-log.ts';
import { teeEvents, teeRequestEvents } from '../hub/activity/tee-events.ts';
import { GcRuns } from '../hub/admin/gc-runs.ts';

export type WharfPart = 'registry' | 'engine' | 'token';

export interface StartWharfOptions {
  /** Which parts to run; default: the ones enabled in config. */
  parts?: WharfPart[];
  logger?: Logger;
}

export interface RunningWharf {
  /** `http(s)://host:port` of the registry, when it runs. */
  registryUrl?: string;
  /** `http(s)://host:port` of the token server when it runs alone. */
  tokenUrl?: string;
  engineSocket?: string;
  close(): Promise<void>;
}

/** Builds every enabled part from one Config and starts it. The only place that names concrete implementations. */
export async function startWharf(config: Config, options: StartWharfOptions = {}): Promise<RunningWharf> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const parts = options.parts ?? enabledParts(config);
  mkdirSync(config.root, { recursive: true, mode: 0o700 });
  // The engine alone never touches the metadata: under `wharf serve` it runs in its own process beside the registry.
  const db = parts.some((part) => part !== 'engine') ? await openMeta(config) : undefined;
  if (db) logger.info({ meta: db.description }, 'metadata opened');
  // Replicas on one PostgreSQL share the upload lock, the GC lock and login failures (docs/architecture.md).
  const replica = await openReplicaCoordination(config, { logger });
  const closers: (() => Promise<void>)[] = [() => replica.close()];
  const running: RunningWharf = { close: () => closeAll(closers, db) };
  try {
    const blobs = await openBlobStore(config, { locks: replica.ingestLocks });
    if (db && parts.includes('registry')) {
      const server = await buildRegistryServer({ config, stores: db, blobs, logger, replica });
      running.registryUrl = await listen(server, config, config.registry.addr);
      closers.push(() => closeServer(server));
      logger.info({ url: running.registryUrl }, 'registry listening');
    }
    if (db && parts.includes('token')) {
      const server = await buildTokenServer({ config, stores: db, logger, replica });
      running.tokenUrl = await listen(server, config, config.auth.token.addr);
      closers.push(() => closeServer(server));
      logger.info({ url: running.tokenUrl }, 'token server listening');
    }
    if (parts.includes('engine')) {
      const releaser = engineBlobReleaser({ config, blobs, gc: db?.gc, logger });
      closers.push(() => releaser.close());
      // Imported here: most of the engine's ~200 modules are not loaded into a process that runs only the registry.
      const { startEngine } = await import('../engine/engine.ts');
      const engine = await startEngine({ config, blobs, logger, releaser });
      running.engineSocket = engine.socketPath;
      closers.push(() => engine.close());
      logger.info({ socket: engine.socketPath }, 'engine listening');
    }
  } catch (err) {
    await running.close();
    throw err;
  }
  return running;
}

/** What `wharf serve` runs: the registry (with the token server in token mode) and, when runc is there, the engine. */
export function enabledParts(config: Config): WharfPart[] {
  const parts: WharfPart[] = [];
  if (config.registry.enabled) parts.push('registry');
  // The engine needs runc; without it `wharf serve` still brings the registry up.
  if (config.engine.enabled && runcAvailable()) parts.push('engine');
  return parts;
}

/** The engine runs `runc` from PATH (RuncRuntime), so that is where it must be found. */
function runcAvailable(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && isExecutableFile(join(dir, 'runc')));
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

interface RegistryServerDeps {
  config: Config;
  stores: OpenedMeta;
  blobs: BlobStore;
  logger: Logger;
  replica?: ReplicaCoordination;
}

export async function buildRegistryServer(deps: RegistryServerDeps): Promise<FastifyInstance> {
  const { config, stores, blobs, logger, replica } = deps;
  const { meta, v1 } = stores;
  const auth = await createAuthServices({ config, users: stores.users, logger, limiter: replica?.loginLimiter, secrets: stores.secrets });
  const app = createHttpServer(config, logger);
  const idle = collectWhenIdle();
  // A callback hook, not an async one: it runs on every response, and needs no promise.
  app.addHook('onResponse', (_request, _reply, done) => {
    idle.touch();
    done();
  });
  app.addHook('onClose', async () => idle.stop());
  const metrics = await serveRegistryMetrics(app, { ...deps, authorizer: auth.authorizer });
  const { endpoints } = config.registry.notifications;
  const notifier = endpoints.length > 0 ? new Notifier({ endpoints, queue: stores.notifications(replica?.advisoryLocks), logger, publicUrl: config.registry.publicUrl }) : undefined;
  if (notifier) app.addHook('onClose', async () => notifier.close());
  const activity = new ActivityLog({ store: stores.activity, logger, keep: config.hub.activityKeep });
  app.addHook('onClose', () => activity.close());
  const events = teeEvents(notifier, activity);
  // Built whatever registry.gc.intervalSeconds says: the API starts collections too (src/hub/admin/gc-runs.ts).
  const gcDeps = { blobs, index: stores.gc, engine: new EngineRoots(config.root), logger };
  const gcRuns = new GcRuns({ collector: metrics ? new MeteredCollector(gcDeps, metrics) : new GarbageCollector(gcDeps), lock: replica?.gcLock, store: stores.gcRuns, logger, ...config.registry.gc });
  await gcRuns.recoverInterrupted();
  app.addHook('onClose', () => gcRuns.close());
  const mirror = openPullThrough({ config, stores, blobs, logger, metrics, sharedUploads: replica?.sharedUploads });
  if (mirror) app.addHook('onClose', () => mirror.close());
  const registry = registerRegistryV2(app, { blobs, meta, authorizer: auth.authorizer, config, logger, events, baseHeaders: { 'x-docker-encrypt': v1Headers['x-docker-encrypt'] }, sharedUploads: replica?.sharedUploads, service: mirror?.service, pullThrough: mirror?.pullThrough });
  const autobuilds = openAutobuilds({ config, store: stores.builds, registry, blobs, logger, events: teeRequestEvents([activity.forActor('autobuild'), ...(notifier ? [notifier.forActor('autobuild')] : [])]) });
  app.addHook('onClose', () => autobuilds.close());
  registerHub(app, {
    config,
    logger,
    stores,
    registry,
    blobs,
    auth: createHubAuth({ config, authServices: auth, sessions: stores.sessions }),
    authServices: auth,
    registryEvents: events,
    activity,
    gc: gcRuns,
    builds: autobuilds.builds,
    publicUrl: (request) => config.registry.publicUrl.replace(/\/+$/, '') || `${request.protocol}://${request.host}`,
  });
  registerRegistryV1(app, { registry, blobs, meta, v1, transaction: stores.transaction, accounts: auth.accounts, authorizer: auth.authorizer, acl: auth.acl, indexTokens: auth.indexTokens, config, logger, events, pullThrough: mirror?.pullThrough });
  if (config.registry.uploadPurging.enabled) {
    const purger = startUploadPurger(registry, { ...config.registry.uploadPurging, logger });
    app.addHook('onClose', async () => purger.stop());
  }
  if (config.registry.gc.intervalSeconds > 0) {
    const { retention, immutableTags } = config.registry;
    const retain = retention.length > 0
      ? () => applyScheduledRetention({ rules: retention, immutable: new ImmutableTags(immutableTags), tags: stores.retention, gc: gcDeps.index, logger })
      : undefined;
    // The cache's expiry (registry.proxy.expiry) logs its own failure: it runs whatever retention did.
    const expire = scheduledCacheExpiry(config.registry.proxy, { meta, mirror: stores.mirror, blobs, logger });
    const beforeCollect = retain || expire ? async () => { try { await retain?.(); } finally { await expire?.(); } } : undefined;
    const gc = startGcScheduler({ collect: (options) => gcRuns.run('schedule', options) }, { ...config.registry.gc, logger, beforeCollect });
    app.addHook('onClose', async () => gc.stop());
  }
  if (auth.tokens) registerTokenRoutes(app, { tokens: auth.tokens, accounts: auth.accounts, acl: auth.acl, config, logger });
  await app.ready();
  await autobuilds.start();
  return app;
}

/**
 * registry.metrics: counts every request of `app` and serves the exposition on the registry's address (behind
 * its authorizer, see metrics-route.ts) or on a listener of its own (`registry.metrics.addr`, no auth).
 */
async function serveRegistryMetrics(app: FastifyInstance, deps: RegistryServerDeps & { authorizer: Authorizer }): Promise<RegistryMetrics | undefined> {
  const { config, blobs, logger } = deps;
  const options = config.registry.metrics;
  if (!options.enabled) return undefined;
  const metrics = new RegistryMetrics({ storage: storageStats(blobs, { cacheSeconds: options.storageCacheSeconds }) });
  instrumentRegistry(app, metrics, { metricsPath: options.path });
  if (!options.addr) {
    registerMetricsRoute(app, metrics, { path: options.path, authorizer: deps.authorizer, logger });
    return metrics;
  }
  const server = await startMetricsServer({ addr: options.addr, path: options.path, registry: metrics.registry, logger });
  app.addHook('onClose', () => server.close());
  logger.info({ url: server.url }, 'registry metrics listening');
  return metrics;
}

/** The token server alone (`wharf auth serve`): same keys, users and ACL as a registry on the same root. */
async function buildTokenServer(deps: Omit<RegistryServerDeps, 'blobs'>): Promise<FastifyInstance> {
  const config: Config = { ...deps.config, auth: { ...deps.config.auth, mode: 'token' } };
  // On PostgreSQL the failed-login counts are the replicas' shared ones, as under the registry.
  const auth = await createAuthServices({ config, users: deps.stores.users, logger: deps.logger, limiter: deps.replica?.loginLimiter });
  if (!auth.tokens) throw new Error('token mode built no token service');
  const app = createHttpServer(deps.config, deps.logger);
  registerTokenRoutes(app, { tokens: auth.tokens, accounts: auth.accounts, acl: auth.acl, config, logger: deps.logger });
  const { metricsAddr } = config.auth.token;
  const metrics = metricsAddr ? await startTokenServerMetrics(app, { addr: metricsAddr, logger: deps.logger }) : undefined;
  if (metrics) app.addHook('onClose', () => metrics.close());
  await app.ready();
  return app;
}

function createHttpServer(config: Config, logger: Logger): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    requestIdHeader: 'x-request-id',
    // Paths fastify refuses before routing (bad percent-escapes) still answer in the registry's error shape.
    frameworkErrors: registryFrameworkErrors,
    bodyLimit: config.registry.maxManifestBytes,
    ...tlsOptions(config),
    // Large blob uploads stream for minutes; only an idle socket should time out.
    requestTimeout: 0,
    schemaController: zodOnlySchemas,
  });
  app.get('/health', async () => ({ status: 'ok' }));
  // As registry:2: `/` is an empty 200 that load balancers probe (the UI's page when hub.ui is on, src/hub), any
  // other unknown path Go's plain 404.
  if (!config.hub.ui) app.get('/', async (_request, reply) => reply.header('cache-control', 'no-cache').send(''));
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).header('docker-distribution-api-version', 'registry/2.0').type('text/plain; charset=utf-8').send('404 page not found\n');
  });
  return app;
}

function tlsOptions(config: Config): { https?: { cert: Buffer; key: Buffer } } {
  const { cert, key } = config.registry.tls;
  if (!cert && !key) return {};
  return { https: { cert: readFileSync(cert), key: readFileSync(key) } };
}

async function listen(app: FastifyInstance, config: Config, addr: string): Promise<string> {
  const { host, port } = parseListenAddress(addr);
  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const scheme = config.registry.tls.cert ? 'https' : 'http';
  return `${scheme}://${formatHostPort(host, boundPort)}`;
}

/**
 * In-flight requests get a grace period to finish; then every connection is cut, so a client stalled mid-upload
 * cannot hold shutdown forever (its upload keeps the bytes received so far and resumes).
 */
async function closeServer(server: FastifyInstance, graceMs = 10_000): Promise<void> {
  const closing = server.close();
  const timer = setTimeout(() => server.server.closeAllConnections(), graceMs);
  try {
    await closing;
  } finally {
    clearTimeout(timer);
  }
}

async function closeAll(closers: (() => Promise<void>)[], stores: OpenedMeta | undefined): Promise<void> {
  for (const close of closers.reverse()) await close();
  closers.length = 0;
  await stores?.close();
}
