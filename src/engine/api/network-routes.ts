import { Fault } from '../../base/fault.ts';
import type { NetworkRecord } from '../networks/network-record.ts';
import { isPredefinedName } from '../networks/network-record.ts';
import type { NetworkService } from '../networks/network-service.ts';
import { type Filters, matchesLabels, parseTimestamp } from './query.ts';
import { inputOf } from './route-schema.ts';
import type { ApiContext, Reply, Route } from './router.ts';
import { networkSchemas as schemas } from './network-schemas.ts';
import { networkListHasContainers } from './version-gates.ts';

export interface NetworkRouteDeps {
  networks: NetworkService;
}

/** `docker network create|ls|inspect|rm|prune|connect|disconnect`. */
export function networkRoutes(deps: NetworkRouteDeps): Route[] {
  const { networks } = deps;
  return [
    { name: 'network-list', method: 'GET', path: '/networks', schema: schemas.list, handle: async (ctx) => listNetworks(networks, ctx) },
    { name: 'network-create', method: 'POST', path: '/networks/create', body: 'json', schema: schemas.create, handle: (ctx) => createNetwork(networks, ctx) },
    { name: 'network-prune', method: 'POST', path: '/networks/prune', schema: schemas.prune, handle: (ctx) => pruneNetworks(networks, ctx) },
    { name: 'network-inspect', method: 'GET', path: '/networks/{id}', schema: schemas.inspect, handle: async (ctx) => inspectNetwork(networks, ctx) },
    {
      name: 'network-delete',
      method: 'DELETE',
      path: '/networks/{id}',
      handle: async (ctx) => (await networks.remove(ctx.params.id), { status: 204 }),
    },
    { name: 'network-connect', method: 'POST', path: '/networks/{id}/connect', body: 'json', schema: schemas.connect, handle: (ctx) => connect(networks, ctx) },
    {
      name: 'network-disconnect',
      method: 'POST',
      path: '/networks/{id}/disconnect',
      body: 'json',
      schema: schemas.disconnect,
      handle: (ctx) => disconnect(networks, ctx),
    },
  ];
}

/** moby's network.Inspect; `Containers` only where moby fills it (inspect, not the list). */
export function networkJson(record: NetworkRecord, containers: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: record.name,
    Id: record.id,
    Created: record.created,
    Scope: 'local',
    Driver: record.driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: record.ipamOptions,
      Config: record.pools.map((p) => ({ Subnet: p.subnet, ...(p.ipRange ? { IPRange: p.ipRange } : {}), Gateway: p.gateway })),
    },
    Internal: record.internal,
    Attachable: record.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: record.options,
    Labels: record.labels,
  };
}

function containersOf(networks: NetworkService, record: NetworkRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of networks.endpointsOf(record.id)) {
    out[e.containerId] = { Name: e.name, EndpointID: e.endpointId, MacAddress: e.mac, IPv4Address: e.ipv4Address, IPv6Address: '' };
  }
  return out;
}

/** moby's getNetwork: `scope` narrows as a filter would; `verbose` adds swarm services, which a local engine has none of. */
function inspectNetwork(networks: NetworkService, ctx: ApiContext): Reply {
  const { scope } = inputOf(schemas.inspect, ctx).query;
  const record = networks.find(ctx.params.id);
  if (scope && scope !== 'local') throw new Fault('not-found', `network ${ctx.params.id} not found`);
  return { status: 200, json: networkJson(record, containersOf(networks, record)) };
}

async function createNetwork(networks: NetworkService, ctx: ApiContext): Promise<Reply> {
  const record = await networks.create(inputOf(schemas.create, ctx).body ?? {});
  return { status: 201, json: { Id: record.id, Warning: '' } };
}

async function connect(networks: NetworkService, ctx: ApiContext): Promise<Reply> {
  const body = inputOf(schemas.connect, ctx).body;
  await networks.connect(body?.Container ?? '', ctx.params.id, body?.EndpointConfig ?? {});
  return { status: 200 };
}

async function disconnect(networks: NetworkService, ctx: ApiContext): Promise<Reply> {
  const body = inputOf(schemas.disconnect, ctx).body;
  await networks.disconnect(body?.Container ?? '', ctx.params.id, body?.Force ?? false);
  return { status: 200 };
}

function listNetworks(networks: NetworkService, ctx: ApiContext): Reply {
  const { filters } = inputOf(schemas.list, ctx).query;
  const inUse = (r: NetworkRecord) => networks.endpointsOf(r.id).length > 0;
  const out = filterNetworks(networks.list(), filters, inUse);
  const detailed = networkListHasContainers(ctx.version);
  return { status: 200, json: out.map((r) => networkJson(r, detailed ? containersOf(networks, r) : {})) };
}

/** moby daemon/network/filter.go FilterNetworks: name and id match as regular expressions, the rest exactly. */
export function filterNetworks(records: NetworkRecord[], filters: Filters, inUse: (r: NetworkRecord) => boolean): NetworkRecord[] {
  const dangling = danglingFilter(filters.get('dangling'));
  const types = filters.get('type') ?? [];
  for (const type of types) if (type !== 'builtin' && type !== 'custom') throw new Fault('invalid-argument', `invalid filter: 'type'='${type}'`);
  return records.filter((r) => {
    if (!exactMatch(filters.get('driver'), r.driver) || !exactMatch(filters.get('scope'), 'local')) return false;
    if (!goMatch(filters.get('name'), r.name) || !goMatch(filters.get('id'), r.id)) return false;
    if (!matchesLabels(r.labels, filters.get('label'))) return false;
    const builtin = isPredefinedName(r.name);
    if (dangling !== undefined && dangling !== (!builtin && !inUse(r))) return false;
    return !types.length || types.includes(builtin ? 'builtin' : 'custom');
  });
}

function danglingFilter(values: string[] | undefined): boolean | undefined {
  if (!values?.length) return undefined;
  if (values.length > 1) throw new Fault('invalid-argument', 'got more than one value for filter key "dangling"');
  if (values[0] === '1' || values[0] === 'true') return true;
  if (values[0] === '0' || values[0] === 'false') return false;
  throw new Fault('invalid-argument', `invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
}

function exactMatch(values: string[] | undefined, source: string): boolean {
  return !values?.length || values.includes(source);
}

/** filters.Args.Match: an exact value, or a regular expression found in the source; a bad expression matches nothing. */
function goMatch(values: string[] | undefined, source: string): boolean {
  if (!values?.length || values.includes(source)) return true;
  return values.some((pattern) => {
    try {
      return new RegExp(pattern).test(source);
    } catch {
      return false;
    }
  });
}

/** moby NetworksPrune: unused user networks, narrowed by `label`, `label!` and `until`. */
async function pruneNetworks(networks: NetworkService, ctx: ApiContext): Promise<Reply> {
  const { filters } = inputOf(schemas.prune, ctx).query;
  const untilValues = filters.get('until') ?? [];
  if (untilValues.length > 1) throw new Fault('invalid-argument', 'more than one until filter specified');
  const until = untilValues.length ? parseTimestamp(untilValues[0], Date.now()) : undefined;
  const without = filters.get('label!') ?? [];
  const deleted = await networks.prune((r) => {
    if (until !== undefined && Date.parse(r.created) > until) return false;
    if (without.length && matchesLabels(r.labels, without)) return false;
    return matchesLabels(r.labels, filters.get('label'));
  });
  return { status: 200, json: { NetworksDeleted: deleted.length ? deleted : null } };
}
