import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBuild } from './build-plan.ts';
import { parseDockerfile } from './dockerfile-parser.ts';
import { StageResults } from './step-context.ts';

const plan = (text: string, target?: string, meta: Record<string, string> = {}) =>
  planBuild(parseDockerfile(text), target, {}, (stage) => stage.base.replace(/\$\{?(\w+)\}?/g, (_, name: string) => meta[name] ?? ''));

test('only the target and the stages it reaches through FROM and COPY --from (name or index) are planned', () => {
  const text = [
    'ARG BASE=base',
    'FROM busybox AS broken', 'RUN exit 1',
    'FROM busybox AS base', 'RUN echo base',
    'FROM ${BASE} AS tool', 'RUN echo tool',
    'FROM busybox AS unused', 'COPY --from=tool /x /x',
    'FROM busybox AS assets',
    'FROM busybox', 'COPY --from=tool /t /t', 'COPY --from=4 /a /a', 'COPY --from=busybox /bin/sh /sh',
    '',
  ].join('\n');
  const full = plan(text, undefined, { BASE: 'base' });
  assert.deepEqual(full.stages.map((s) => s.stage.index), [1, 2, 4, 5]);
  // 1 meta ARG, then FROM + steps of base (2), tool (2), assets (1), the last stage (4).
  assert.equal(full.total, 10);
  assert.deepEqual(plan(text, 'TOOL', { BASE: 'base' }).stages.map((s) => s.stage.name), ['base', 'tool']);
  // A FROM that does not name a stage (here the meta ARG gives an image) reaches nothing.
  assert.deepEqual(plan(text, 'tool', { BASE: 'alpine' }).stages.map((s) => s.stage.name), ['tool']);
});

test('a forward or out-of-range --from index and a later stage name reach nothing; --label steps join the target', () => {
  const text = 'FROM busybox AS a\nFROM busybox AS b\nCOPY --from=2 /x /x\nCOPY --from=-1 /y /y\nCOPY --from=c /z /z\nFROM busybox AS c\n';
  assert.deepEqual(plan(text, 'b').stages.map((s) => s.stage.name), ['b']);
  const labelled = planBuild(parseDockerfile(text), 'a', { z: '1', y: '2' }, (s) => s.base);
  assert.deepEqual(labelled.stages.at(-1)!.steps, [{ label: ['y', '2'] }, { label: ['z', '1'] }]);
  assert.equal(labelled.total, 3);
  assert.throws(() => plan(text, 'nosuch'), /failed to reach build target nosuch in Dockerfile/);
});

test('stage results answer by the Dockerfile index; a skipped stage is named as such, not pulled as an image', () => {
  const { stages } = parseDockerfile('FROM busybox AS skipped\nFROM busybox AS used\nFROM busybox\n');
  const results = new StageResults(stages);
  results.begin(stages[1]);
  results.add(stages[1], 'sha256:used');
  results.begin(stages[2]);
  assert.deepEqual(results.get('1'), { image: 'sha256:used' });
  assert.deepEqual(results.get('USED'), { image: 'sha256:used' });
  assert.match((results.get('0') as { error: string }).error, /^stage skipped was skipped/);
  assert.match((results.get('skipped') as { error: string }).error, /^stage skipped was skipped/);
  assert.deepEqual(results.get('2'), { error: 'refers to current build stage' });
  assert.deepEqual(results.get('3'), { error: 'index out of bounds' });
  assert.equal(results.get('busybox'), undefined);
});
