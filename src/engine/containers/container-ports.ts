import { exposedPortKeys, networkSettingsPorts, portRequests, psPorts, type PortConfig, type PortMap, type PortRequest, type PsPort } from '../networks/port-bindings.ts';
import type { ContainerRecord } from './container-record.ts';

function portConfigOf(record: ContainerRecord): PortConfig {
  return {
    portBindings: record.hostConfig.PortBindings as PortConfig['portBindings'],
    exposedPorts: record.config.ExposedPorts,
    publishAllPorts: record.hostConfig.PublishAllPorts === true,
  };
}

/** The host ports a container asks for (`-p`, `-P`); throws with moby's text on a bad spec. */
export function portRequestsOf(record: ContainerRecord): PortRequest[] {
  return portRequests(portConfigOf(record));
}

/** NetworkSettings.Ports while it runs: exposed ports, with their host bindings when published. */
export function portMapOf(record: ContainerRecord): PortMap {
  if (!record.state.Running) return {};
  return networkSettingsPorts(exposedPortKeys(portConfigOf(record)), record.ports ?? []);
}

/** `docker ps` PORTS. */
export function psPortsOf(record: ContainerRecord): PsPort[] {
  return record.state.Running ? psPorts(portMapOf(record)) : [];
}
