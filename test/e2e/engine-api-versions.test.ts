import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { importBusybox } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { both, dockerPy, ok, type Side, sidesOf } from '../support/side-by-side.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

type Json = Record<string, unknown>;

/** A raw GET on the engine's socket, the way an old client asks: the version in the path. */
function getJson(target: Pick<Side, 'name' | 'socketPath'>, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: target.socketPath, path, method: 'GET', headers: { Host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function getOk(target: Pick<Side, 'name' | 'socketPath'>, path: string): Promise<unknown> {
  const { status, body } = await getJson(target, path);
  assert.equal(status, 200, `${target.name} ${path}: ${JSON.stringify(body)}`);
  return body;
}

/** docker-py 5 pinned to API 1.41, as its users get it. */
const dockerPy141 = (side: Side, body: string) => dockerPy(side, body, { version: '1.41' });

const sortedKeys = (value: unknown) => Object.keys(value as Json).filter((k) => k !== 'Variant').sort();

// Issue 11 item 8: the fields an answer has depend on the request's API version, as moby's routers gate them.
// dockerd 20.10 speaks up to 1.41, so it anchors 1.24–1.41; 1.43/1.44 are checked against moby v25's gates.
describe('answers carry the fields of the request API version, as dockerd gives them', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  let targets: Side[] = [];

  before(async () => {
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(), startDockerd()]);
    await importBusybox(dockerd, 'busybox');
    targets = sidesOf(engine, dockerd);
    // An untagged image on both: a commit without a repository.
    for (const side of targets) {
      await ok(side, 'create', '--name', 'committed', '--network', 'none', 'busybox', 'true');
      await ok(side, 'commit', 'committed');
    }
  });
  after(async () => {
    await Promise.all([engine?.close(), dockerd?.stop()]);
  });

  test('docker-py at 1.41: images and image inspect have the same fields as dockerd, VirtualSize among them', async () => {
    const script = `images = api.images()\nprint(json.dumps({'list': images, 'inspect': api.inspect_image('busybox')}))`;
    const [mine, theirs] = await Promise.all(targets.map(async (t) => JSON.parse(await dockerPy141(t, script)) as { list: Json[]; inspect: Json }));
    assert.deepEqual(sortedKeys(mine.list[0]), sortedKeys(theirs.list[0]));
    assert.deepEqual(sortedKeys(mine.inspect), sortedKeys(theirs.inspect));
    for (const answer of [mine, theirs]) {
      assert.equal(answer.inspect.VirtualSize, answer.inspect.Size);
      for (const image of answer.list) assert.equal(image.VirtualSize, image.Size);
    }
  });

  test('raw /v1.25 and /v1.41: untagged images list <none> placeholders on both', async () => {
    for (const version of ['1.25', '1.41']) {
      const [mine, theirs] = await Promise.all(targets.map((t) => getOk(t, `/v${version}/images/json`) as Promise<Json[]>));
      assert.deepEqual(sortedKeys(mine[0]), sortedKeys(theirs[0]), version);
      const untagged = (list: Json[]) => list.filter((i) => (i.RepoTags as string[]).includes('<none>:<none>')).map((i) => i.RepoDigests);
      assert.deepEqual(untagged(mine), [['<none>@<none>']], version);
      assert.deepEqual(untagged(theirs), [['<none>@<none>']], version);
    }
  });

  test('wharf at 1.43 lists untagged images with empty tags and keeps VirtualSize; at 1.44 drops VirtualSize', async () => {
    const [wharf] = targets;
    const at43 = (await getOk(wharf, '/v1.43/images/json')) as Json[];
    assert.ok(at43.some((i) => (i.RepoTags as string[]).length === 0 && (i.RepoDigests as string[]).length === 0));
    assert.ok(at43.every((i) => i.VirtualSize === i.Size));
    const at44 = (await getOk(wharf, '/v1.44/images/json')) as Json[];
    assert.ok(at44.every((i) => !('VirtualSize' in i)));
    assert.ok(!('VirtualSize' in ((await getOk(wharf, '/v1.44/images/busybox/json')) as Json)));
    // dockerd 20.10 cannot speak 1.43 or 1.44: why those are checked against moby v25's gates instead.
    assert.equal((await getJson(targets[1], '/v1.44/images/json')).status, 400);
  });

  test('raw /v1.24 info names security options only and an execution driver, as dockerd; /v1.25 does not', async () => {
    for (const version of ['1.24', '1.25']) {
      const answers = (await Promise.all(targets.map((t) => getOk(t, `/v${version}/info`)))) as Json[];
      const [mine, theirs] = answers.map((info) => ({
        executionDriver: info.ExecutionDriver,
        namesOnly: ((info.SecurityOptions as string[]) ?? []).every((o) => !o.includes('=')),
      }));
      assert.deepEqual(mine, theirs, version);
      assert.deepEqual(mine, version === '1.24' ? { executionDriver: '<not supported>', namesOnly: true } : { executionDriver: undefined, namesOnly: false });
    }
  });

  test('docker-py at 1.41: a container on a user network lists its short ID and hostname among its aliases', async () => {
    const [wharf] = targets;
    assert.equal((await engine.docker(['network', 'create', 'gatenet'])).code, 0);
    const ran = await engine.docker(['run', '-d', '--name', 'aliased', '--network', 'gatenet', '--network-alias', 'db', '--hostname', 'web', 'busybox', 'sleep', '30']);
    assert.equal(ran.code, 0, ran.stderr);
    const id = ran.stdout.trim();
    const aliases = JSON.parse(await dockerPy141(wharf, `print(json.dumps(api.inspect_container('aliased')['NetworkSettings']['Networks']['gatenet']['Aliases']))`));
    assert.deepEqual(aliases, ['db', id.slice(0, 12), 'web']);
    await engine.docker(['rm', '-f', 'aliased']);
    await engine.docker(['network', 'rm', 'gatenet']);
  });
  test('raw /v1.27 network list carries each network\'s containers, as dockerd\'s; /v1.28 does not', async () => {
    const ids = await both(targets, (side) => ok(side, 'run', '-d', '--name', 'listed', 'busybox', 'sleep', '60'));
    const bridgeOf = (list: Json[]) => list.find((n) => n.Name === 'bridge')!;
    for (const version of ['1.27', '1.28']) {
      const [mine, theirs] = await Promise.all(targets.map(async (t) => bridgeOf((await getOk(t, `/v${version}/networks`)) as Json[])));
      const [a, b] = [mine, theirs].map((n, i) => (n.Containers as Record<string, Json>)[ids[i]]);
      if (version === '1.27') {
        assert.ok(a && b, JSON.stringify([mine.Containers, theirs.Containers]));
        assert.deepEqual(sortedKeys(a), sortedKeys(b));
        assert.equal(a.Name, 'listed');
        for (const entry of [a, b]) assert.match(String(entry.IPv4Address), /^\d+\.\d+\.\d+\.\d+\/\d+$/);
      } else {
        assert.deepEqual([mine.Containers, theirs.Containers], [{}, {}]);
      }
    }
    await both(targets, (side) => ok(side, 'rm', '-f', 'listed'));
  });

  test('raw /v1.40 images/json?filter= is a reference filter on both; from /v1.41 it is ignored', async () => {
    for (const [version, filtered] of [['1.40', true], ['1.41', false]] as const) {
      const lists = await Promise.all(targets.map((t) => getOk(t, `/v${version}/images/json?filter=busy*`) as Promise<Json[]>));
      const tags = lists.map((list) => list.flatMap((i) => i.RepoTags as string[]).sort());
      assert.deepEqual(tags[0], tags[1], version);
      assert.deepEqual(tags[0], filtered ? ['busybox:latest'] : ['<none>:<none>', 'busybox:latest'], version);
    }
  });

  test('raw /v1.41 info says KernelMemory as dockerd does on this host; wharf at /v1.42 leaves it out (moby 25)', async () => {
    const [mine, theirs] = (await Promise.all(targets.map((t) => getOk(t, '/v1.41/info')))) as Json[];
    assert.equal(mine.KernelMemory, theirs.KernelMemory);
    assert.equal(mine.KernelMemoryTCP, theirs.KernelMemoryTCP);
    assert.ok(!('KernelMemory' in ((await getOk(targets[0], '/v1.42/info')) as Json)));
  });

  test('docker version lists runc and docker-init (tini) with their versions and commits, as dockerd', async () => {
    const components = await Promise.all(
      targets.map(async (t) => {
        const all = ((await getOk(t, '/v1.41/version')) as { Components: { Name: string }[] }).Components;
        return all.filter((c) => c.Name === 'runc' || c.Name === 'docker-init');
      }),
    );
    assert.deepEqual(components[0], components[1]);
    assert.deepEqual(components[0].map((c) => c.Name), ['runc', 'docker-init']);
    const cli = await engine.docker(['version', '--format', '{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}']);
    assert.match(cli.stdout, /docker-init=\d+\.\d+\.\d+/);
  });
});
