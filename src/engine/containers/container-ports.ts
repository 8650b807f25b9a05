import { exposedPortKeys, networkSettingsPorts, portRequests, psPorts, type PortConfig, type PortMap, type PortRequest, type PsPort } from '../networks/port-bindings.ts';
import type { ContainerRecord } from './container-record.ts';

type PortFields = Pick<ContainerRecord, 'hostConfig' | 'config'>;

function portConfigOf(record: PortFields): PortConfig {
  return {
    portBindings: record.hostConfig.PortBindings as PortConfig['portBindings'],
    exposedPorts: record.config.ExposedPorts,
    publishAllPorts: record.hostConfig.PublishAllPorts === true,
  };
}

/**
 * moby checks port specs at create (validatePortBindings), so a bad one leaves no container behind. With the
 * host's network there is nothing to publish: moby keeps the specs and warns.
 */
export function checkPortsAtCreate(record: PortFields, networkMode: string): string[] {
  portRequests(portConfigOf(record));
  const publishes = record.hostConfig.PublishAllPorts === true || Object.keys((record.hostConfig.PortBindings as object | null | undefined) ?? {}).length > 0;
  return networkMode === 'host' && publishes ? ['Published ports are discarded when using host network mode'] : [];
}

/** Only a namespace of the engine's has ports to show: host, none and `container:` modes show none, as moby. */
function hasOwnEndpoints(record: ContainerRecord): boolean {
  return Object.values(record.networks ?? {}).some((s) => s.IPAddress);
}

/** The host ports a container asks for (`-p`, `-P`); throws with moby's text on a bad spec. */
export function portRequestsOf(record: ContainerRecord): PortRequest[] {
  return portRequests(portConfigOf(record));
}

/** NetworkSettings.Ports while it runs: exposed ports, with their host bindings when published. */
export function portMapOf(record: ContainerRecord): PortMap {
  if (!record.state.Running || !hasOwnEndpoints(record)) return {};
  return networkSettingsPorts(exposedPortKeys(portConfigOf(record)), record.ports ?? []);
}

/** `docker ps` PORTS. */
export function psPortsOf(record: ContainerRecord): PsPort[] {
  return record.state.Running ? psPorts(portMapOf(record)) : [];
}
