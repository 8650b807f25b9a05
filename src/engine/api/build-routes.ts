import type { ServerResponse } from 'node:http';
import { Fault } from '../../base/fault.ts';
import type { ImageBuilder } from '../build/image-builder.ts';
import { streamProgress } from './json-stream.ts';
import type { ApiContext, Reply, Route } from './router.ts';

/** POST /build: the legacy builder's API (the docker CLI uses it when buildx is not installed). */
export function buildRoutes(deps: { builder: ImageBuilder }): Route[] {
  return [{ name: 'build', method: 'POST', path: '/build', body: 'raw', handle: (ctx, res) => build(deps.builder, ctx, res) }];
}

async function build(builder: ImageBuilder, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const q = ctx.query;
  if (q.get('remote')) throw new Fault('not-implemented', 'building from a remote context is not supported by this engine yet');
  if (q.get('target')) throw new Fault('not-implemented', 'build targets (multi-stage builds) are not supported by this engine yet');
  const options = {
    dockerfile: q.get('dockerfile') || undefined,
    tags: q.getAll('t').filter(Boolean),
    buildArgs: stringMap(q.get('buildargs'), 'buildargs'),
    labels: stringMap(q.get('labels'), 'labels'),
    quiet: ['1', 'true'].includes(q.get('q') ?? ''),
    networkMode: q.get('networkmode') || undefined,
  };
  if (options.networkMode && !['default', 'host', 'none'].includes(options.networkMode)) {
    throw new Fault('not-found', `network ${options.networkMode} not found`);
  }
  return streamProgress(res, (stream) => builder.build(ctx.req, { ...options, progress: (m) => stream.write(m), signal: ctx.signal }));
}

/** `buildargs` / `labels`: a JSON object of strings (null values, as the CLI sends for unset args, are dropped). */
function stringMap(raw: string | null, what: string): Record<string, string> {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Fault('invalid-argument', `${what} is not JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Fault('invalid-argument', `${what} must be a JSON object`);
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}
