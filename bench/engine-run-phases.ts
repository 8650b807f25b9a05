/**
 * Where `docker run --rm busybox true` spends its time inside wharf's engine: the API calls the CLI makes
 * (create, wait for `removed`, start), timed one by one without the CLI, then the CLI end to end and the CLI's
 * own start-up (`docker version`). Not a comparison: bench/engine.ts holds the ratio against dockerd.
 * Run: node bench/engine-run-phases.ts [--runs 25]
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { buildBusyboxRootfsTar, startTestEngine } from '../test/e2e/engine-harness.ts';

const runs = Number(parseArgs({ options: { runs: { type: 'string', default: '25' } } }).values.runs);
const engine = await startTestEngine();
await engine.docker(['import', await buildBusyboxRootfsTar(engine.root), 'busybox']);

function call(method: string, path: string, body?: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: engine.socket, method, path: `/v1.44${path}`, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const phases: Record<string, number[]> = { create: [], start: [], 'exit + remove': [], total: [] };
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const { Id } = JSON.parse(await call('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true } }));
  const t1 = performance.now();
  const removed = call('POST', `/containers/${Id}/wait?condition=removed`);
  const t2 = performance.now();
  await call('POST', `/containers/${Id}/start`);
  const t3 = performance.now();
  await removed;
  const t4 = performance.now();
  phases.create.push(t1 - t0);
  phases.start.push(t3 - t2);
  phases['exit + remove'].push(t4 - t3);
  phases.total.push(t4 - t0);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const timeCli = async (args: string[]) => {
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await engine.docker(args);
    times.push(performance.now() - t);
  }
  return median(times);
};
console.log(`# wharf engine, medians of ${runs} runs (ms)`);
for (const [name, values] of Object.entries(phases)) console.log(`${name.padEnd(28)} ${median(values).toFixed(1)}`);
console.log(`${'docker run --rm busybox true'.padEnd(28)} ${(await timeCli(['run', '--rm', 'busybox', 'true'])).toFixed(1)}`);
console.log(`${'docker version (CLI alone)'.padEnd(28)} ${(await timeCli(['version'])).toFixed(1)}`);
await engine.close();
