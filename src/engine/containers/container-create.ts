import { randomBytes } from 'node:crypto';
import { isFault } from '../../base/fault.ts';
import { acquireMounts, endHolds, inheritMounts } from '../volumes/container-mounts.ts';
import { parseMountRequests } from '../volumes/mount-spec.ts';
import { endpointsAtCreate, networkNameOf } from './container-endpoints.ts';
import { checkLinksAllowed, findLinkTarget, parseLink } from './container-links.ts';
import { checkPortsAtCreate } from './container-ports.ts';
import { randomContainerName } from './container-names.ts';
import { initialState, type ContainerConfig, type ContainerRecord } from './container-record.ts';
import { mountBeside } from './container-rootfs.ts';
import { adaptToHost, buildContainerSpec, recordMounts, validateName, type CreateRequest } from './container-spec.ts';
import type { DaemonContext } from './daemon-context.ts';
import { pinJoinedContainers } from './joined-namespaces.ts';
import { adaptCgroupOptions, type CgroupOptions } from './resource-checks.ts';

/** moby daemon/create.go: a name, a writable snapshot of the image, its mounts, then the saved record. */
export async function create(ctx: DaemonContext, request: CreateRequest, name?: string): Promise<{ Id: string; Warnings: string[] }> {
  if (name) validateName(name);
  const id = randomBytes(32).toString('hex');
  // Reserved before the first await, so of concurrent creates with one name exactly one gets it.
  const finalName = name ? `/${name.replace(/^\//, '')}` : generateName(ctx, id);
  if (name) ctx.deps.store.reserveName(finalName, id);
  try {
    return await createRecord(ctx, request, id, finalName);
  } catch (err) {
    ctx.deps.store.releaseName(finalName, id);
    throw err;
  }
}

async function createRecord(ctx: DaemonContext, request: CreateRequest, id: string, name: string): Promise<{ Id: string; Warnings: string[] }> {
  const { images, snapshotter, runtime, store } = ctx.deps;
  const image = images.store.resolve(request.Image ?? '');
  const imageConfig = await images.store.config(image.id);
  const spec = buildContainerSpec(request, imageConfig, { id });
  const warnings = [...adaptToHost(spec.hostConfig, runtime.support), ...adaptCgroupOptions(spec.hostConfig as CgroupOptions, runtime.support)];
  pinJoinedContainers((input) => store.resolve(input), spec.hostConfig);
  const networks = networksAtCreate(ctx, request, spec.hostConfig);
  warnings.push(...checkPortsAtCreate(spec, networkNameOf(spec.hostConfig.NetworkMode)));
  const snapshotKey = `container-${id}`;
  await snapshotter.prepare(snapshotKey, image.layers.at(-1)?.chainId);
  const mounts = await createMounts(ctx, id, spec.hostConfig, spec.config.Volumes, snapshotKey).catch(async (err) => {
    await snapshotter.remove(snapshotKey).catch(() => undefined);
    throw err;
  });
  const record: ContainerRecord = {
    id,
    name,
    created: ctx.iso(),
    path: spec.path,
    args: spec.args,
    imageId: image.id,
    config: spec.config,
    hostConfig: spec.hostConfig,
    state: initialState(),
    restartCount: 0,
    manuallyStopped: false,
    snapshotKey,
    mounts,
    ...(networks ? { networks } : {}),
  };
  store.save(record);
  endHolds(ctx.deps.volumes, mounts, id);
  ctx.event(record, 'create');
  return { Id: id, Warnings: warnings };
}

/** The networks it joins; the containers its network mode and links name must exist. */
function networksAtCreate(ctx: DaemonContext, request: CreateRequest, host: ContainerRecord['hostConfig']) {
  const mode = networkNameOf(host.NetworkMode);
  const links = (host.Links as string[] | null | undefined) ?? [];
  if (mode.startsWith('container:')) ctx.deps.store.resolve(mode.slice('container:'.length));
  checkLinksAllowed(mode, links);
  for (const link of links) findLinkTarget(parseLink(link).name, (name) => ctx.deps.store.resolve(name));
  return endpointsAtCreate(ctx.deps.networking, request, host);
}

/** Binds, `--volumes-from` and volumes (named ones made on first use, empty ones seeded from the image). */
async function createMounts(ctx: DaemonContext, id: string, host: ContainerRecord['hostConfig'], imageVolumes: ContainerConfig['Volumes'], snapshotKey: string) {
  return acquireMounts(ctx.deps.volumes, {
    containerId: id,
    requests: parseMountRequests(host),
    inherited: inheritMounts(host.VolumesFrom ?? [], (c) => recordMounts(ctx.deps.store.resolve(c))),
    imageVolumes,
    withRootfs: (work) => mountBeside(ctx, id, snapshotKey, work),
  });
}

/** A random free name, reserved for `id` (moby retries with a digit appended after a collision). */
function generateName(ctx: DaemonContext, id: string): string {
  for (let retry = 0; ; retry++) {
    const name = `/${randomContainerName(retry)}`;
    try {
      ctx.deps.store.reserveName(name, id);
      return name;
    } catch (err) {
      if (!isFault(err) || err.kind !== 'conflict') throw err;
    }
  }
}
