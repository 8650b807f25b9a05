import { Fault } from '../../base/fault.ts';
import { checkEndpoint, newEndpoint, networkNameOf, type EndpointRequest } from './container-endpoints.ts';
import type { AttachableNetwork } from './container-networking.ts';
import { rewriteEtcFiles } from './container-run-network.ts';
import type { DaemonContext } from './daemon-context.ts';
import { attachEndpoint, detachEndpoint } from './network-resource.ts';

/** moby daemon/container_operations.go ConnectToNetwork: `docker network connect`, live when it runs. */
export function connect(ctx: DaemonContext, input: string, network: AttachableNetwork, request: EndpointRequest): Promise<void> {
  const record = ctx.deps.store.resolve(input);
  return ctx.withLock(record.id, async () => {
    checkJoinable(record.hostConfig.NetworkMode, network);
    record.networks ??= {};
    if (record.networks[network.name]) {
      throw new Fault('permission-denied', `endpoint with name ${record.name.slice(1)} already exists in network ${network.name}`);
    }
    const mac = request.MacAddress ?? '';
    checkEndpoint(network, request, mac);
    record.networks[network.name] = newEndpoint(network.id, request, mac);
    const index = Object.keys(record.networks).length - 1;
    // Not while its exit is being handled: the endpoint is kept and attached at the next start.
    if (record.state.Running && record.sandboxKey && !ctx.liveOf(record).exiting) {
      try {
        await attachEndpoint(ctx.deps.networking, record, network.name, index);
      } catch (err) {
        await detachEndpoint(ctx.deps.networking, record, network.name, index).catch(() => undefined);
        delete record.networks[network.name];
        throw err;
      }
      await rewriteEtcFiles(ctx, record);
    }
    ctx.deps.store.save(record);
  });
}

/** moby DisconnectFromNetwork: `docker network disconnect [-f]`. */
export function disconnect(ctx: DaemonContext, input: string, network: AttachableNetwork, force: boolean): Promise<void> {
  let record;
  try {
    record = ctx.deps.store.resolve(input);
  } catch (err) {
    // moby: -f removes the endpoint of a container that no longer exists; wharf keeps endpoints in records only.
    if (force) return Promise.resolve();
    throw err;
  }
  const held = record;
  return ctx.withLock(held.id, async () => {
    if (network.driverName === 'host' && held.hostConfig.NetworkMode === 'host') throw hostNetworkError();
    const names = Object.keys(held.networks ?? {});
    const index = names.indexOf(network.name);
    if (index < 0) throw new Fault('permission-denied', `container ${held.id} is not connected to network ${network.name}`);
    await detachEndpoint(ctx.deps.networking, held, network.name, index);
    delete held.networks![network.name];
    if (held.state.Running && held.sandboxKey) await rewriteEtcFiles(ctx, held);
    ctx.deps.store.save(held);
  });
}

function checkJoinable(mode: string, network: AttachableNetwork): void {
  if (network.driverName === 'host' || networkNameOf(mode) === 'host') throw hostNetworkError();
  if (mode.startsWith('container:')) {
    throw new Fault('permission-denied', 'container sharing network namespace with another container or host cannot be connected to any other network');
  }
  if (mode === 'none' || network.driverName === 'null') {
    throw new Fault('permission-denied', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
  }
}

function hostNetworkError(): Fault {
  return new Fault('permission-denied', 'container cannot be disconnected from host network or connected to host network');
}
