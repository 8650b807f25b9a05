import { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import { qFilters, qString } from './query-schema.ts';
import type { Filters } from './query.ts';
import { inputOf } from './route-schema.ts';
import type { ApiContext, Reply, Route } from './router.ts';

/**
 * Managed plugins: this engine has none and cannot install any. Listing answers an empty list and every verb on a
 * named plugin answers what dockerd answers for a plugin it does not have; installing or creating one is refused
 * by name (the CLI's `docker plugin install` asks `/plugins/privileges` first, so that refusal is what it shows).
 */
export const pluginSchemas = {
  // moby plugin/backend_linux.go acceptedPluginFilterTags
  list: { query: z.object({ filters: qFilters(['enabled', 'capability']) }) },
  enable: { query: z.object({ timeout: qString() }) },
};

export function pluginRoutes(): Route[] {
  return [
    { name: 'plugin-list', method: 'GET', path: '/plugins', schema: pluginSchemas.list, handle: async (ctx) => list(ctx) },
    refusal('GET', '/plugins/privileges', 'installing plugins'),
    refusal('POST', '/plugins/pull', 'installing plugins'),
    refusal('POST', '/plugins/create', 'creating plugins'),
    unknownPlugin('GET', '/plugins/{name*}/json'),
    { name: 'plugin-enable', method: 'POST', path: '/plugins/{name*}/enable', schema: pluginSchemas.enable, handle: async (ctx) => enable(ctx) },
    unknownPlugin('POST', '/plugins/{name*}/disable'),
    unknownPlugin('POST', '/plugins/{name*}/push'),
    unknownPlugin('POST', '/plugins/{name*}/upgrade'),
    unknownPlugin('POST', '/plugins/{name*}/set'),
    unknownPlugin('DELETE', '/plugins/{name*}'),
  ];
}

/** moby plugin/errors.go errNotFound: resolving any name, ID or ID prefix in an empty store ends here. */
function notFound(name: string): Fault {
  return new Fault('not-found', `plugin ${JSON.stringify(name)} not found`);
}

function unknownPlugin(method: Route['method'], path: string): Route {
  return {
    name: `plugin ${method} ${path}`,
    method,
    path,
    handle: async (ctx) => {
      throw notFound(ctx.params.name);
    },
  };
}

function refusal(method: Route['method'], path: string, what: string): Route {
  return {
    name: `plugin ${method} ${path}`,
    method,
    path,
    handle: async () => {
      throw new Fault('not-implemented', `plugins are not supported by this engine: ${what} is refused`);
    },
  };
}

async function list(ctx: ApiContext): Promise<Reply> {
  checkEnabledFilter(inputOf(pluginSchemas.list, ctx).query.filters);
  return { status: 200, json: [] };
}

/** filters.Args.GetBoolOrDefault: exactly one of true/1 or false/0, else `invalid filter 'enabled=[…]'`. */
function checkEnabledFilter(filters: Filters): void {
  const values = filters.get('enabled');
  if (!values) return;
  const isFalse = values.includes('0') || values.includes('false');
  const isTrue = values.includes('1') || values.includes('true');
  if (isFalse === isTrue) throw new Fault('invalid-argument', values.length ? `invalid filter 'enabled=[${values.join(' ')}]'` : `invalid filter 'enabled'`);
}

/** moby reads `timeout` with a bare strconv.Atoi before looking the plugin up: a missing one is its plain 500. */
async function enable(ctx: ApiContext): Promise<Reply> {
  const timeout = inputOf(pluginSchemas.enable, ctx).query.timeout ?? '';
  if (!/^[+-]?\d+$/.test(timeout)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(timeout)}: invalid syntax`);
  throw notFound(ctx.params.name);
}
