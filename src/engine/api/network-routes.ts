import type { Route } from './router.ts';

/** `docker network ls`: the two networks this engine has (a private namespace with loopback is `none`'s twin). */
export function networkRoutes(): Route[] {
  return [{ name: 'network-list', method: 'GET', path: '/networks', handle: async () => ({ status: 200, json: networks() }) }];
}

/** The two networks the engine has, in moby's NetworkResource shape (`docker network ls`). */
function networks(): Record<string, unknown>[] {
  return [
    { name: 'host', driver: 'host' },
    { name: 'none', driver: 'null' },
  ].map(({ name, driver }) => ({
    Name: name,
    Id: name,
    Created: '0001-01-01T00:00:00Z',
    Scope: 'local',
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  }));
}
