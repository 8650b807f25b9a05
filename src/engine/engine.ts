import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { wharfVersion } from '../base/wharf-version.ts';
import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import { RegistryClient } from '../client/registry-client.ts';
import type { BlobStore } from '../store/blob-store.ts';
import { createApiServer } from './api/api-server.ts';
import { archiveRoutes } from './api/archive-routes.ts';
import { containerRoutes } from './api/container-routes.ts';
import { statsRoutes } from './api/stats-routes.ts';
import { execRoutes } from './api/exec-routes.ts';
import { pruneRoutes } from './api/prune-routes.ts';
import { buildPruneRoutes } from './api/build-prune-routes.ts';
import { imageRoutes } from './api/image-routes.ts';
import { Router } from './api/router.ts';
import { systemRoutes } from './api/system-routes.ts';
import { buildRoutes } from './api/build-routes.ts';
import { networkRoutes } from './api/network-routes.ts';
import { BridgeDriver } from './networks/bridge-driver.ts';
import { EmbeddedDns } from './networks/embedded-dns.ts';
import { Ipam } from './networks/ipam.ts';
import { NetworkRecords } from './networks/network-records.ts';
import { driverNetworkOf, NetworkService } from './networks/network-service.ts';
import { hostRoutes } from './networks/subnet-pool.ts';
import { createNetns, deleteNetns, netnsPath } from './networks/netns.ts';
import type { NetworkDriver } from './networks/network-driver.ts';
import { PortAllocator } from './networks/port-allocator.ts';
import type { ContainerNetworking } from './containers/container-networking.ts';
import { ImageBuilder } from './build/image-builder.ts';
import { BuildCache } from './build/build-cache.ts';
import { pluginRoutes } from './api/plugin-routes.ts';
import { swarmRoutes } from './api/swarm-routes.ts';
import { volumeRoutes } from './api/volume-routes.ts';
import { LocalVolumeDriver } from './volumes/local-volume-driver.ts';
import { VolumeRecords } from './volumes/volume-records.ts';
import { VolumeService } from './volumes/volume-service.ts';
import { ContainerExecs } from './containers/container-exec.ts';
import { ContainerArchive } from './containers/container-archive.ts';
import { ContainerManager } from './containers/container-manager.ts';
import { ContainerStore } from './containers/container-store.ts';
import { EventLog } from './events.ts';
import { startEngineMetrics } from './engine-metrics.ts';
import { ImageService } from './images/image-service.ts';
import { ImageStore } from './images/image-store.ts';
import { BlobLeases } from './images/blob-leases.ts';
import type { BlobReleaser } from './images/blob-releaser.ts';
import { RuncRuntime } from './containers/runc-runtime.ts';
import type { Runtime } from './containers/runtime.ts';
import { unmountUnder } from './snapshots/mount.ts';
import { OverlaySnapshotter } from './snapshots/overlay-snapshotter.ts';
import type { Snapshotter } from './snapshots/snapshotter.ts';

export interface StartEngineOptions {
  config: Config;
  blobs: BlobStore;
  logger: Logger;
  /** Lower-half parts; the defaults are the overlay snapshotter and runc. Tests may pass their own. */
  snapshotter?: Snapshotter;
  runtime?: Runtime;
  /** Frees the blobs of deleted images (rmi, prune) nothing else names; without it a full collection does. */
  releaser?: BlobReleaser;
}

export interface RunningEngine {
  socketPath: string;
  close(): Promise<void>;
}

/**
 * The container engine: Docker Engine API on a unix socket over an image store (sharing the registry's
 * BlobStore), overlay snapshots and runc. Data lives under <root>/engine.
 */
export async function startEngine(options: StartEngineOptions): Promise<RunningEngine> {
  const { config, blobs, logger } = options;
  const root = join(config.root, 'engine');
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const snapshotter = options.snapshotter ?? new OverlaySnapshotter({ root: join(root, 'snapshots') });
  const runtime = options.runtime ?? new RuncRuntime({ root, logger });
  const events = new EventLog();
  const registry = new RegistryClient({
    insecureRegistries: config.engine.insecureRegistries,
    registryMirrors: config.engine.registryMirrors,
    caFor: (host) => registryCa(root, host),
    userAgent: `wharf/${wharfVersion}`,
  });
  const images = new ImageService({
    store: new ImageStore({ dir: join(root, 'images'), blobs }),
    blobs,
    snapshotter,
    registry,
    events,
    logger,
    // Read by the registry's collector (registry/gc/engine-roots.ts) beside images.json.
    leases: new BlobLeases(join(root, 'leases')),
    releaser: options.releaser,
  });
  const volumesDir = join(root, 'volumes');
  const volumes = new VolumeService({
    records: new VolumeRecords(join(root, 'volume-records')),
    driver: new LocalVolumeDriver({ dir: volumesDir }),
    events,
    logger,
  });
  const networkDriver = new BridgeDriver({ instance: engineId(root).slice(0, 8), logger });
  const ipam = new Ipam();
  const dns = new EmbeddedDns({ logger });
  const networks = new NetworkService({
    records: new NetworkRecords(join(root, 'network-records')),
    driver: networkDriver,
    ipam,
    dns,
    events,
    logger,
    config: config.engine.network,
    hostRoutes: () => hostRoutes(),
  });
  const networking = containerNetworking({ networks, driver: networkDriver, ipam, dns, ports: new PortAllocator(), events });
  const containers = new ContainerManager({ store: new ContainerStore(join(root, 'containers')), images, snapshotter, runtime, volumes, networking, events, logger });
  networks.setEndpoints((id) => containers.networkEndpoints(id));
  networks.setConnector({
    connect: (container, network, config) => containers.connect(container, networks.networkFor(network.id), config),
    disconnect: (container, network, force) => containers.disconnect(container, networks.networkFor(network.id), force),
  });
  images.setUsers((id) => containers.usersOf(id));
  volumes.setUsers((name) => containers.volumeUsers(name));
  const execs = new ContainerExecs({ containers, runtime, events, logger });
  const serverHeader = `wharf/${wharfVersion} (linux)`;
  const router = new Router([
    ...systemRoutes({
      events,
      registry,
      counts: () => counts(containers, images),
      engineId: engineId(root),
      rootDir: root,
      version: wharfVersion,
      runtimeName: runtime.name,
      support: runtime.support,
      insecureRegistries: config.engine.insecureRegistries,
      registryMirrors: config.engine.registryMirrors,
    }),
    ...imageRoutes({ images }),
    ...containerRoutes({ containers, snapshotter, serverHeader, execIds: (id) => execs.idsOf(id) }),
    ...statsRoutes({ containers }),
    ...execRoutes({ execs, serverHeader }),
    ...archiveRoutes({ archive: new ContainerArchive(containers) }),
    ...volumeRoutes({ volumes }),
    ...pruneRoutes({ images, containers, volumes, events, logger }),
    ...buildPruneRoutes({ images, logger }),
    ...networkRoutes({ networks }),
    ...buildRoutes({ builder: new ImageBuilder({ images, containers, cache: new BuildCache({ store: images.store, blobs }), snapshotter, workDir: join(root, 'build') }) }),
    ...swarmRoutes(),
    ...pluginRoutes(),
  ]);
  // A crashed engine leaves rootfs mounts and mounted volumes (`-o type=…`) behind: the volumes are unmounted
  // before any container starts again, and restore() cleans each container's runtime state; then nothing else
  // under the engine root may stay mounted (volumes that restarted containers mounted stay).
  await unmountUnder(volumesDir);
  await volumes.restore();
  await networks.restore();
  await containers.restore();
  for (const entry of readdirSync(root)) if (join(root, entry) !== volumesDir) await unmountUnder(join(root, entry));
  const api = createApiServer({ router, logger, serverHeader });
  const socketPath = config.engine.socket;
  await api.listen(socketPath);
  const metrics = config.engine.metricsAddr
    ? await startEngineMetrics({
        addr: config.engine.metricsAddr,
        containerStates: () => containers.store.list().map((c) => c.state.Status),
        imageCount: () => images.store.list().length,
        api: api.server,
        router,
        logger,
      })
    : undefined;
  return {
    socketPath,
    close: async () => {
      const closing = api.close(socketPath);
      await metrics?.close();
      await containers.shutdown();
      await dns.close();
      await closing;
    },
  };
}

/**
 * Removes from the host every bridge and firewall chain the engine at `config.root` made (its networks stay in
 * its records and come back at its next start). For uninstalling and for tests; the engine must be stopped.
 */
export async function removeHostNetworking(config: Config, logger: Logger): Promise<void> {
  const root = join(config.root, 'engine');
  if (!existsSync(join(root, 'engine-id'))) return;
  const driver = new BridgeDriver({ instance: engineId(root).slice(0, 8), logger });
  for (const record of new NetworkRecords(join(root, 'network-records')).load()) {
    const network = driverNetworkOf(record);
    if (network) await driver.deleteNetwork(network);
  }
  await driver.reset();
}

/** The network side as the container layer sees it: one seam over the service, IPAM, ports, DNS and driver. */
function containerNetworking(parts: { networks: NetworkService; driver: NetworkDriver; ipam: Ipam; dns: EmbeddedDns; ports: PortAllocator; events: EventLog }): ContainerNetworking {
  const { networks, driver, ipam, dns, ports, events } = parts;
  return {
    network: (idOrName) => networks.networkFor(idOrName),
    defaultBridge: () => networks.defaultBridge(),
    driver,
    allocateAddress: (networkId, options) => ipam.allocate(networkId, options),
    releaseAddress: (networkId, address) => ipam.release(networkId, address),
    reservePorts: (owner, requests, containerIp) => ports.reserve(owner, requests, { containerIp }),
    releasePorts: (owner) => ports.release(owner),
    registerNames: (networkId, containerId, names, address, settings) => dns.register(networkId, containerId, [...names], address, settings),
    unregisterNames: (networkId, containerId) => dns.unregister(networkId, containerId),
    createNetns,
    deleteNetns,
    netnsExists: (name) => existsSync(netnsPath(name)),
    emitNetworkEvent: (action, network, containerId) => events.emit('network', action, { id: network.id, attributes: { container: containerId, name: network.name, type: network.driverName } }),
  };
}

function counts(containers: ContainerManager, images: ImageService) {
  const all = containers.store.list();
  const running = all.filter((c) => c.state.Running && !c.state.Paused).length;
  const paused = all.filter((c) => c.state.Paused).length;
  return { containers: all.length, running, paused, stopped: all.length - running - paused, images: images.store.list().length };
}

/** A stable engine ID, like moby's engine key. */
function engineId(root: string): string {
  const file = join(root, 'engine-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomBytes(16).toString('hex');
  writeFileSync(file, id, { mode: 0o600 });
  return id;
}

/** Extra CA for a registry: `<root>/engine/certs.d/<host>/ca.crt`, then docker's `/etc/docker/certs.d`. */
async function registryCa(root: string, host: string): Promise<Buffer | undefined> {
  if (!/^[a-zA-Z0-9.:[\]-]+$/.test(host)) return undefined;
  for (const dir of [join(root, 'certs.d'), '/etc/docker/certs.d']) {
    const ca = await readFile(join(dir, host, 'ca.crt')).catch(() => undefined);
    if (ca) return ca;
  }
  return undefined;
}
