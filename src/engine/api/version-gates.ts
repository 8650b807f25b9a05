import { compareVersions } from './api-version.ts';

/**
 * What moby changes in its answers by the request's API version, for the versions this engine accepts (1.24–1.44).
 * Each builder in this directory renders the 1.44 answer; the routes pass it through the matching gate here, so
 * every version difference lives in one place. Gates are moby v25's (the daemon whose newest API is 1.44):
 * api/server/router/{system,image}/…_routes.go and daemon/inspect.go.
 */

type Json = Record<string, unknown>;

const below = (version: string, floor: string) => compareVersions(version, floor) < 0;

/**
 * GET /info: 1.24 lists security options by name only and names an execution driver; before 1.39 blanks read
 * `<unknown>`; before 1.42 `KernelMemory` says whether the host has v1 kmem limits (from 1.42 it is false, and
 * omitted). `host.kernelMemory`: memory.kmem.limit_in_bytes exists (moby sysinfo).
 */
export function infoForVersion(info: Json, version: string, host: { kernelMemory: boolean } = { kernelMemory: false }): Json {
  const out = below(version, '1.42') && host.kernelMemory ? withKeyAfter(info, 'SwapLimit', 'KernelMemory', true) : { ...info };
  if (below(version, '1.25')) {
    out.SecurityOptions = ((info.SecurityOptions as string[] | null) ?? []).map(securityOptionName);
    out.ExecutionDriver = '<not supported>';
  }
  if (below(version, '1.39')) {
    if (out.KernelVersion === '') out.KernelVersion = '<unknown>';
    if (out.OperatingSystem === '') out.OperatingSystem = '<unknown>';
  }
  return out;
}

/** `object` with `key: value` placed right after `after`, as moby's struct order has it. */
function withKeyAfter(object: Json, after: string, key: string, value: unknown): Json {
  return Object.fromEntries(Object.entries(object).flatMap(([k, v]) => (k === after ? [[k, v], [key, value]] : [[k, v]])));
}

/** GET /networks: before 1.28 each network lists its containers (moby's NetworkListConfig Detailed), as inspect does. */
export function networkListHasContainers(version: string): boolean {
  return below(version, '1.28');
}

/** GET /images/json: before 1.41 the `filter` parameter is a `reference` filter (a glob on the repository name). */
export function imageListFilters(filters: Map<string, string[]>, filter: string | undefined, version: string): Map<string, string[]> {
  if (!filter || !below(version, '1.41')) return filters;
  const out = new Map(filters);
  out.set('reference', [...(filters.get('reference') ?? []), filter]);
  return out;
}

/** `name=seccomp,profile=builtin` → `seccomp` (moby system.DecodeSecurityOptions, then the name alone). */
function securityOptionName(option: string): string {
  const name = option.split(',').find((kv) => kv.startsWith('name='));
  return name ? name.slice('name='.length) : option;
}

/** GET /images/json item: untagged images list `<none>` placeholders before 1.43, and `VirtualSize` is there before 1.44. */
export function imageSummaryForVersion(summary: Json, version: string): Json {
  const out = { ...summary };
  const tags = summary.RepoTags as string[];
  const digests = summary.RepoDigests as string[];
  if (below(version, '1.43') && !tags.length && !digests.length) {
    out.RepoTags = ['<none>:<none>'];
    out.RepoDigests = ['<none>@<none>'];
  }
  if (below(version, '1.44')) out.VirtualSize = summary.Size;
  return out;
}

/** GET /images/{name}/json: `VirtualSize` before 1.44; `Container`/`ContainerConfig` stay until 1.45, so always here. */
export function imageInspectForVersion(inspect: Json, version: string): Json {
  if (!below(version, '1.44')) return inspect;
  // Keep moby's field order: VirtualSize right after Size.
  return Object.fromEntries(Object.entries(inspect).flatMap(([k, v]) => (k === 'Size' ? [[k, v], ['VirtualSize', v]] : [[k, v]])));
}

/** Networks whose endpoints moby gives the container's short ID and hostname as aliases (user-defined ones). */
const builtinNetworks = new Set(['bridge', 'host', 'none', 'default']);

/**
 * GET /containers/{id}/json: before 1.45 each user-defined network's `Aliases` also holds the short ID and the
 * hostname (moby's DNS answers to both; 1.45 stopped listing them). No version this engine accepts is 1.45 or later.
 */
export function containerInspectForVersion(inspect: Json, version: string): Json {
  if (!below(version, '1.45')) return inspect;
  const settings = inspect.NetworkSettings as Json | undefined;
  const networks = settings?.Networks as Record<string, Json> | undefined;
  if (!settings || !networks) return inspect;
  const shortId = String(inspect.Id).slice(0, 12);
  const hostname = String((inspect.Config as Json | undefined)?.Hostname ?? '');
  const extra = [shortId, ...(hostname ? [hostname] : [])];
  const gated = Object.fromEntries(
    Object.entries(networks).map(([name, ep]) => {
      if (builtinNetworks.has(name) || name.startsWith('container:')) return [name, ep];
      return [name, { ...ep, Aliases: [...new Set([...((ep.Aliases as string[] | null) ?? []), ...extra])] }];
    }),
  );
  return { ...inspect, NetworkSettings: { ...settings, Networks: gated } };
}
