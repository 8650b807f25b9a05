import type { ServerResponse } from 'node:http';
import { Fault } from '../../base/fault.ts';
import type { BuildOptions, StepHostConfig } from '../build/build-options.ts';
import { checkPlatform } from '../build/build-plan.ts';
import type { ImageBuilder } from '../build/image-builder.ts';
import { imageSchemas } from './image-schemas.ts';
import { streamProgress } from './json-stream.ts';
import { inputOf } from './route-schema.ts';
import { requestBody } from './request-body.ts';
import type { ApiContext, Reply, Route } from './router.ts';

type BuildQuery = ReturnType<typeof inputOf<typeof imageSchemas.build>>['query'];

/** POST /build: the classic builder's API (the docker CLI uses it when buildx is absent or DOCKER_BUILDKIT=0). */
export function buildRoutes(deps: { builder: ImageBuilder }): Route[] {
  return [{ name: 'build', method: 'POST', path: '/build', body: 'raw', schema: imageSchemas.build, handle: (ctx, res) => build(deps.builder, ctx, res) }];
}

async function build(builder: ImageBuilder, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const q = inputOf(imageSchemas.build, ctx).query;
  refuseUnsupported(q);
  const options: Omit<BuildOptions, 'progress'> = {
    dockerfile: q.dockerfile,
    remote: q.remote,
    tags: q.t,
    buildArgs: (q.buildargs as Record<string, string | null> | undefined) ?? {},
    labels: q.labels,
    quiet: q.q,
    noCache: q.nocache,
    cacheFrom: (q.cachefrom as string[] | undefined) ?? [],
    pull: q.pull,
    remove: q.rm || q.forcerm,
    forceRemove: q.forcerm,
    target: q.target,
    hostConfig: hostConfigOf(q),
    signal: ctx.signal,
  };
  return streamProgress(res, (stream) => builder.build(requestBody(ctx.req), { ...options, progress: (m) => stream.write(m) }));
}

/** moby's newImageBuildOptions and postBuild refusals, in its words; what the classic builder cannot do, by name. */
function refuseUnsupported(q: BuildQuery): void {
  if (q.securityopt.length) throw new Fault('invalid-argument', 'The daemon on this platform does not support setting security options on build');
  if (q.isolation && q.isolation.toLowerCase() !== 'default') throw new Fault('invalid-argument', `Unsupported isolation: ${JSON.stringify(q.isolation)}`);
  if (q.version && q.version !== '1' && q.version !== '2') throw new Fault('invalid-argument', `invalid version ${JSON.stringify(q.version)}`);
  if (q.version === '2') throw new Fault('not-implemented', 'BuildKit (builder version 2) is not supported by this engine: use the classic builder (DOCKER_BUILDKIT=0)');
  if (q.squash) throw new Fault('invalid-argument', 'squash is only supported with experimental mode');
  if (q.remote === 'client-session') {
    throw new Fault('invalid-argument', 'experimental session with v1 builder is no longer supported, use builder version v2 (BuildKit) instead');
  }
  if ((q.outputs as unknown[] | undefined)?.length) throw new Fault('not-implemented', 'build outputs (--output) need BuildKit, which this engine does not have');
  if (q.platform) checkPlatform(q.platform);
}

/** The resources and network of the build's RUN containers (moby's hostConfigFromOptions). */
function hostConfigOf(q: BuildQuery): StepHostConfig {
  return {
    NetworkMode: q.networkmode ?? '',
    Memory: q.memory,
    MemorySwap: q.memswap,
    CpuShares: q.cpushares,
    CpusetCpus: q.cpusetcpus ?? '',
    CpusetMems: q.cpusetmems ?? '',
    CpuPeriod: q.cpuperiod,
    CpuQuota: q.cpuquota,
    ...(q.cgroupparent ? { CgroupParent: q.cgroupparent } : {}),
    ShmSize: q.shmsize ?? 0,
    Ulimits: (q.ulimits as StepHostConfig['Ulimits']) ?? [],
    ExtraHosts: q.extrahosts,
  };
}
