import type { DriverEndpoint, DriverNetwork, NetworkDriver } from '../../src/engine/networks/network-driver.ts';
import type { NetworkDns } from '../../src/engine/networks/network-service.ts';

/*
 * Call-recording stand-ins for the network service's unit tests: the real BridgeDriver changes the host (bridges,
 * iptables) and the real EmbeddedDns binds port 53 on a gateway only a real bridge carries. The real driver is
 * covered by the driver conformance suite and the e2e tests.
 */

export class FakeNetworkDriver implements NetworkDriver {
  readonly name = 'bridge';
  calls: string[] = [];
  networks = new Map<string, DriverNetwork>();
  /** Thrown by the next createNetwork calls while set. */
  failCreate?: Error;

  async init(): Promise<void> {
    this.calls.push('init');
  }

  async createNetwork(network: DriverNetwork): Promise<void> {
    this.calls.push(`create ${network.bridge}`);
    if (this.failCreate) throw this.failCreate;
    this.networks.set(network.id, network);
  }

  async deleteNetwork(network: DriverNetwork): Promise<void> {
    this.calls.push(`delete ${network.bridge}`);
    this.networks.delete(network.id);
  }

  async attach(endpoint: DriverEndpoint): Promise<void> {
    this.calls.push(`attach ${endpoint.hostIfname}`);
  }

  async detach(endpoint: DriverEndpoint): Promise<void> {
    this.calls.push(`detach ${endpoint.hostIfname}`);
  }

  async reset(): Promise<void> {
    this.calls.push('reset');
  }
}

export class FakeNetworkDns implements NetworkDns {
  calls: string[] = [];
  listening = new Map<string, string>();

  async addNetwork(networkId: string, gateway: string): Promise<void> {
    this.calls.push(`add ${gateway}`);
    this.listening.set(networkId, gateway);
  }

  async removeNetwork(networkId: string): Promise<void> {
    this.calls.push(`remove ${this.listening.get(networkId) ?? '?'}`);
    this.listening.delete(networkId);
  }
}
