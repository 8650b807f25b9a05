import type { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import type { ContainerManager } from '../containers/container-manager.ts';
import type { ContainerRecord } from '../containers/container-record.ts';
import { networkNameOf } from '../containers/container-endpoints.ts';
import { recordMounts } from '../containers/container-spec.ts';
import { containerSummary } from './container-json.ts';
import { matchesLabels, type Filters } from './query.ts';
import type { containerSchemas } from './container-schemas.ts';

/** The parsed query of GET /containers/json, as its schema gives it. */
type ListQuery = z.output<typeof containerSchemas.list.query>;

const statuses = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
/** moby's health filter: a container without a healthcheck is `none`. */
const healthStatuses = ['starting', 'healthy', 'unhealthy', 'none'];

/** GET /containers/json (`docker ps`): newest first; without `all` only running ones; `limit` implies all. */
export function listContainers(containers: ContainerManager, query: ListQuery, now: number): Record<string, unknown>[] {
  const { filters } = query;
  for (const status of filters.get('status') ?? []) {
    if (!statuses.includes(status)) throw new Fault('invalid-argument', `invalid filter 'status=${status}'`);
  }
  for (const health of filters.get('health') ?? []) {
    if (!healthStatuses.includes(health)) throw new Fault('invalid-argument', `Unrecognised filter value for health: ${health}`);
  }
  const limit = query.limit ?? -1;
  const all = query.all || limit > 0 || (filters.get('status')?.length ?? 0) > 0 || filters.has('exited');
  let records = containers.store.list().sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || (b.id < a.id ? -1 : 1));
  const before = pivot(containers, filters.get('before')?.[0]);
  const since = pivot(containers, filters.get('since')?.[0]);
  if (before) records = records.filter((r) => Date.parse(r.created) < Date.parse(before.created));
  if (since) records = records.filter((r) => Date.parse(r.created) > Date.parse(since.created));
  records = records.filter((r) => (all || r.state.Running) && matches(containers, r, filters));
  if (limit > 0) records = records.slice(0, limit);
  return records.map((r) => containerSummary(r, { now, size: query.size ? { rw: 0, rootFs: 0 } : undefined }));
}

function pivot(containers: ContainerManager, input: string | undefined): ContainerRecord | undefined {
  return input ? containers.store.resolve(input) : undefined;
}

function matches(containers: ContainerManager, record: ContainerRecord, filters: Filters): boolean {
  const check = (key: string, test: (value: string) => boolean) => {
    const values = filters.get(key);
    return !values?.length || values.some(test);
  };
  return (
    check('status', (s) => record.state.Status === s) &&
    check('name', (n) => new RegExp(n).test(record.name.slice(1)) || new RegExp(n).test(record.name)) &&
    check('id', (id) => record.id.startsWith(id)) &&
    check('exited', (code) => !record.state.Running && record.state.StartedAt !== '0001-01-01T00:00:00Z' && record.state.ExitCode === Number(code)) &&
    check('ancestor', (ref) => ancestorMatches(containers, record, ref)) &&
    check('is-task', (v) => v === 'false') &&
    check('health', (h) => (record.state.Health?.Status ?? 'none') === h) &&
    check('network', (n) => onNetwork(record, n)) &&
    // moby: a volume name or a mount destination.
    check('volume', (v) => recordMounts(record).some((m) => m.Name === v || m.Destination === v)) &&
    matchesLabels(record.config.Labels, filters.get('label'))
  );
}

/** moby: a network's name or full ID (or a prefix of it) among the container's. */
function onNetwork(record: ContainerRecord, network: string): boolean {
  const names = record.networks ? Object.keys(record.networks) : [networkNameOf(record.hostConfig.NetworkMode)];
  const ids = Object.values(record.networks ?? {}).map((s) => s.NetworkID);
  return names.includes(network) || ids.some((id) => id !== '' && id.startsWith(network));
}

/** moby: the container's image (by ID, or by the name it was created from) descends from the given image. */
function ancestorMatches(containers: ContainerManager, record: ContainerRecord, ref: string): boolean {
  if (record.config.Image === ref) return true;
  return containers.imageOf(ref) === record.imageId;
}
