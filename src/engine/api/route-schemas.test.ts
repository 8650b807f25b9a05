import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import type { TestEngine } from '../../../test/e2e/engine-harness.ts';
import { apiVersion } from './api-version.ts';
import { buildRoutes } from './build-routes.ts';
import { buildPruneRoutes, type BuildPruneRouteDeps } from './build-prune-routes.ts';
import { containerRoutes, type ContainerRouteDeps } from './container-routes.ts';
import { execRoutes, type ExecRouteDeps } from './exec-routes.ts';
import { imageRoutes, type ImageRouteDeps } from './image-routes.ts';
import { pruneRoutes, type PruneRouteDeps } from './prune-routes.ts';
import { statsRoutes, type StatsRouteDeps } from './stats-routes.ts';
import { systemRoutes, type SystemDeps } from './system-routes.ts';
import { volumeRoutes, type VolumeRouteDeps } from './volume-routes.ts';
import { networkRoutes, type NetworkRouteDeps } from './network-routes.ts';
import { goMetaOf, unwrap } from './go-json.ts';
import { queryMetaOf } from './query-schema.ts';
import type { Route } from './router.ts';
import { engineRequest, startEngineWithBusybox } from '../../../test/support/engine-api.ts';

// The route tables only: their handlers never run here, because every request below is refused by the schema.
const routes: Route[] = [
  ...systemRoutes({} as SystemDeps),
  ...imageRoutes({} as ImageRouteDeps),
  ...containerRoutes({} as ContainerRouteDeps),
  ...statsRoutes({} as StatsRouteDeps),
  ...execRoutes({} as ExecRouteDeps),
  ...pruneRoutes({} as PruneRouteDeps),
  ...volumeRoutes({} as VolumeRouteDeps),
  ...networkRoutes({} as NetworkRouteDeps),
  ...buildRoutes({} as Parameters<typeof buildRoutes>[0]),
  ...buildPruneRoutes({} as BuildPruneRouteDeps),
].filter((r) => r.schema);
const validBodies: Record<string, unknown> = { 'container-create': { Image: 'busybox', Cmd: ['true'] }, 'exec-create': { Cmd: ['true'] } };

interface Case {
  what: string;
  body: unknown;
  query: string;
}

/** A value of the wrong JSON type for a Go type, and for an enum a value outside it. */
function wrongValues(schema: z.ZodType): unknown[] {
  const meta = goMetaOf(schema);
  if (!meta) return [];
  if (meta.enum) return [1, 'not-a-valid-value'];
  if (meta.go === 'string') return [1, true];
  if (meta.go === 'bool') return ['yes', 1];
  if (/^u?int\d*$/.test(meta.go)) return ['1', 1.5, meta.go.startsWith('u') ? -1 : 1e300];
  if (meta.go.startsWith('[]') || meta.go.startsWith('[2]')) return [{}, 'x'];
  if (meta.go.startsWith('map[')) return [[], 'x'];
  return [1, 'x', []];
}

/** Every field of a struct schema, depth first, with its path; list elements are entered at index 0. */
function* fields(schema: z.ZodType, path: (string | number)[] = []): Generator<[(string | number)[], z.ZodType]> {
  const def = unwrap(schema)._zod.def as { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType };
  if (def.type === 'object') {
    for (const [key, child] of Object.entries(def.shape ?? {})) {
      yield [[...path, key], child];
      yield* fields(child, [...path, key]);
    }
  } else if (def.type === 'array' && def.element) yield* fields(def.element, [...path, 0]);
}

function setAt(base: unknown, path: (string | number)[], value: unknown): unknown {
  if (!path.length) return value;
  const [key, ...rest] = path;
  const container: Record<string | number, unknown> = typeof key === 'number' ? ([] as unknown as Record<number, unknown>) : { ...(base as object) };
  container[key] = setAt((base as Record<string | number, unknown> | undefined)?.[key], rest, value);
  return container;
}

function casesFor(route: Route): Case[] {
  const out: Case[] = [];
  const body = route.schema?.body;
  const valid = validBodies[route.name];
  if (body) {
    for (const wrong of wrongValues(body)) out.push({ what: `body ${JSON.stringify(wrong)}`, body: wrong, query: '' });
    for (const [path, field] of fields(body)) {
      for (const wrong of wrongValues(field)) out.push({ what: `${path.join('.')}=${JSON.stringify(wrong)}`, body: setAt(valid, path, wrong), query: '' });
    }
  }
  const query = route.schema?.query as z.ZodObject | undefined;
  for (const [name, param] of Object.entries(query?.shape ?? {})) {
    const wrongByKind: Record<string, string> = { int: 'abc', uint32: '-1', enum: 'not-a-valid-value', filters: '{"bogus":["x"]}', 'json-map': '[1]' };
    const wrong = wrongByKind[queryMetaOf(param)?.query ?? ''];
    if (wrong !== undefined) out.push({ what: `?${name}=${wrong}`, body: valid, query: `${name}=${encodeURIComponent(wrong)}` });
  }
  return out;
}

describe('every Engine API schema refuses wrong input with a 400, through the real dispatcher', () => {
  let engine: TestEngine;
  before(async () => (engine = await startEngineWithBusybox()));
  after(() => engine.close());

  // Routes whose parameters are all strings or booleans accept any value, as moby does: nothing to refuse there.
  for (const route of routes.filter((r) => casesFor(r).length)) {
    test(`${route.method} ${route.path}`, async () => {
      const path = route.path.replace(/\{[a-z]+\*?\}/g, 'nosuch');
      const cases = casesFor(route);
      for (const c of cases) {
        const answer = await engineRequest(engine.socket, route.method, `/v${apiVersion}${path}${c.query ? `?${c.query}` : ''}`, c.body);
        assert.equal(answer.status, 400, `${c.what}: ${answer.status} ${answer.body}`);
        const message = JSON.parse(answer.body).message as string;
        assert.ok(message, c.what);
        // The schema's refusal, not the version check's.
        assert.doesNotMatch(message, /client version/, c.what);
      }
      assert.equal((await engineRequest(engine.socket, 'GET', '/containers/json?all=1')).status, 200);
      assert.equal((await engineRequest(engine.socket, 'GET', '/_ping')).body, 'OK');
    });
  }

  test('the issue 8 reproducers are 400s with moby\'s wording and leave docker ps working', async () => {
    const create = (body: unknown) => engineRequest(engine.socket, 'POST', '/containers/create', body);
    const refusals: [unknown, string][] = [
      [{ Image: 'busybox', Cmd: [1, 2] }, 'invalid JSON: json: cannot unmarshal array into Go struct field CreateRequest.Cmd of type string'],
      [{ Image: 1 }, 'invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Image of type string'],
      [{ Image: 'busybox', Entrypoint: {} }, 'invalid JSON: json: cannot unmarshal object into Go struct field CreateRequest.Entrypoint of type string'],
      [{ Image: 'busybox', Cmd: ['true'], WorkingDir: 'x' }, "the working directory 'x' is invalid, it needs to be an absolute path"],
      [{ Image: 'busybox', HostConfig: { Memory: '1g' } }, 'invalid JSON: json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64'],
      [
        { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { bridge: { GwPriority: 2 } } } },
        "GwPriority 2 is not supported: this engine takes the default gateway from the container's first network",
      ],
    ];
    for (const [body, message] of refusals) {
      const answer = await create(body);
      assert.equal(answer.status, 400, answer.body);
      assert.equal(JSON.parse(answer.body).message, message);
    }
    // What moby accepts stays accepted: a string Cmd, nulls, unknown fields.
    const accepted = await create({ Image: 'busybox', Cmd: 'true', Env: null, HostConfig: null, SomethingNew: { x: 1 } });
    assert.equal(accepted.status, 201, accepted.body);
    const list = await engineRequest(engine.socket, 'GET', '/containers/json?all=1');
    assert.equal(list.status, 200, list.body);
    assert.ok(JSON.parse(list.body).some((c: { Command: string }) => c.Command === 'true'));
  });
});
