import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { TestEngine } from '../../../test/e2e/engine-harness.ts';
import { engineRequest, startEngineWithBusybox } from '../../../test/support/engine-api.ts';

// CI runs a fixed seed; WHARF_FUZZ_SEED picks another (a failure prints the seed that found it).
const seed = Number(process.env.WHARF_FUZZ_SEED ?? 8);
const numRuns = 400;

const createFields = ['Image', 'Cmd', 'Entrypoint', 'Env', 'WorkingDir', 'User', 'Tty', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'StopTimeout', 'HostConfig'];
const hostFields = ['Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'PidsLimit', 'BlkioWeight', 'RestartPolicy', 'Binds', 'Mounts', 'CapAdd', 'SecurityOpt', 'NetworkMode', 'ConsoleSize', 'AutoRemove'];
const execFields = ['Cmd', 'Env', 'User', 'WorkingDir', 'Tty', 'AttachStdin', 'AttachStdout', 'Privileged', 'ConsoleSize', 'DetachKeys'];

/** A body whose known fields hold arbitrary JSON (or plausible values), plus arbitrary extra fields. */
function bodyOf(known: string[], plausible: fc.Arbitrary<unknown>) {
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), plausible);
  return fc
    .tuple(fc.dictionary(fc.constantFrom(...known), value, { maxKeys: 6 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }))
    .map(([fields, extra]) => ({ ...extra, ...fields }));
}

const plausible = fc.oneof(
  fc.constant('busybox'),
  fc.constant(['true']),
  fc.constant('/tmp'),
  fc.integer({ min: -1, max: 1 << 30 }),
  fc.record({ Name: fc.constantFrom('no', 'always', 'on-failure', 'bogus'), MaximumRetryCount: fc.integer({ min: -2, max: 3 }) }),
);
const createBody = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  bodyOf(createFields, plausible),
  bodyOf(hostFields, plausible).map((HostConfig) => ({ Image: 'busybox', Cmd: ['true'], HostConfig })),
);
const execBody = fc.oneof(fc.jsonValue({ maxDepth: 2 }), bodyOf(execFields, plausible));

describe('fuzzing the Engine API bodies', { timeout: 120_000 }, () => {
  let engine: TestEngine;
  let containerId: string;
  before(async () => {
    engine = await startEngineWithBusybox();
    containerId = JSON.parse((await engineRequest(engine.socket, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] })).body).Id;
  });
  after(() => engine.close());

  const noServerError = async (method: string, path: string, body: unknown) => {
    const answer = await engineRequest(engine.socket, method, path, JSON.stringify(body));
    assert.ok(answer.status < 500, `${method} ${path} ${JSON.stringify(body)} -> ${answer.status} ${answer.body}`);
  };

  const check = async (property: fc.IAsyncProperty<[unknown]>) => {
    const result = await fc.check(property, { seed, numRuns });
    if (result.failed) assert.fail(`seed ${seed} (WHARF_FUZZ_SEED=${seed}): ${fc.defaultReportMessage(result)}`);
  };

  test('container create never answers 5xx, and docker ps and _ping still answer', async () => {
    await check(fc.asyncProperty(createBody, (body) => noServerError('POST', '/containers/create', body)));
    assert.equal((await engineRequest(engine.socket, 'GET', '/containers/json?all=1')).status, 200);
    assert.equal((await engineRequest(engine.socket, 'GET', '/_ping')).body, 'OK');
  });

  test('exec create and exec start never answer 5xx', async () => {
    // The container is not running, so a well-formed exec is a 409; a malformed one must be a 400, never a 500.
    await check(fc.asyncProperty(execBody, (body) => noServerError('POST', `/containers/${containerId}/exec`, body)));
    await check(fc.asyncProperty(execBody, (body) => noServerError('POST', '/exec/nosuch/start', body)));
    assert.equal((await engineRequest(engine.socket, 'GET', '/_ping')).body, 'OK');
  });
});
