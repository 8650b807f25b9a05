import type { ServerResponse } from 'node:http';
import { Fault } from '../../base/fault.ts';
import type { ImageBuilder } from '../build/image-builder.ts';
import { imageSchemas } from './image-schemas.ts';
import { streamProgress } from './json-stream.ts';
import { inputOf } from './route-schema.ts';
import { requestBody } from './request-body.ts';
import type { ApiContext, Reply, Route } from './router.ts';

/** POST /build: the legacy builder's API (the docker CLI uses it when buildx is not installed). */
export function buildRoutes(deps: { builder: ImageBuilder }): Route[] {
  return [{ name: 'build', method: 'POST', path: '/build', body: 'raw', schema: imageSchemas.build, handle: (ctx, res) => build(deps.builder, ctx, res) }];
}

async function build(builder: ImageBuilder, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const q = inputOf(imageSchemas.build, ctx).query;
  if (q.remote) throw new Fault('not-implemented', 'building from a remote context is not supported by this engine yet');
  if (q.target) throw new Fault('not-implemented', 'build targets (multi-stage builds) are not supported by this engine yet');
  const options = {
    dockerfile: q.dockerfile,
    tags: q.t,
    buildArgs: q.buildargs,
    labels: q.labels,
    quiet: q.q,
    networkMode: q.networkmode,
  };
  if (options.networkMode && !['default', 'host', 'none'].includes(options.networkMode)) {
    throw new Fault('not-found', `network ${options.networkMode} not found`);
  }
  return streamProgress(res, (stream) => builder.build(requestBody(ctx.req), { ...options, progress: (m) => stream.write(m), signal: ctx.signal }));
}
