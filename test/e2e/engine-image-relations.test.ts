import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importBusybox } from '../support/busybox.ts';
import { startDockerd, type Dockerd } from '../support/dockerd.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

type Docker = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** One side of the comparison: the CLI against a daemon, and the image IDs its steps made, by role. */
interface Side {
  name: string;
  docker: Docker;
  ids: Map<string, string>;
}

async function ok(side: Side, args: string[]): Promise<string> {
  const result = await side.docker(args);
  assert.equal(result.code, 0, `${side.name}: docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/** `docker run` a container of `from` that writes a file, `docker commit` it (as `tag`), remove the container. */
async function commitStep(side: Side, role: string, from: string, tag?: string): Promise<void> {
  await ok(side, ['run', '--network', 'none', '--name', `step-${role}`, from, 'sh', '-c', `echo ${role} > /${role}`]);
  side.ids.set(role, await ok(side, ['commit', `step-${role}`, ...(tag ? [tag] : [])]));
  await ok(side, ['rm', `step-${role}`]);
}

/** IDs become their roles (full or short), other digests (layer chain IDs, which differ per daemon) `<layer>`. */
function normalize(side: Side, text: string): string {
  let out = text;
  for (const [role, id] of side.ids) out = out.replaceAll(id, `<${role}>`).replaceAll(id.slice(7, 19), `<${role}>`);
  return out.replace(/sha256:[a-f0-9]{64}/g, '<layer>').replace(/Total reclaimed space: .*/, 'Total reclaimed space: <size>');
}

async function listed(side: Side, args: string[]): Promise<string[]> {
  return normalize(side, await ok(side, ['images', ...args, '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).split('\n').filter(Boolean).sort();
}

/**
 * Parent chains made with `docker commit` (busybox <- one <- two, tagged chain:top; busybox <- leaf, untagged), on
 * wharf and on a private dockerd 20.10, compared through the docker CLI with IDs replaced by their roles.
 */
describe('image parents, intermediate images, rmi and prune, side by side with dockerd', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  let sides: Side[];

  before(async () => {
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(['--change', 'CMD ["sh"]']), startDockerd()]);
    const wharf: Side = { name: 'wharf', docker: (args) => engine.docker(args), ids: new Map() };
    const anchor: Side = { name: 'dockerd', docker: (args) => dockerd.docker(args), ids: new Map() };
    await importBusybox(dockerd, 'busybox');
    sides = [wharf, anchor];
    for (const side of sides) {
      side.ids.set('busybox', await ok(side, ['image', 'inspect', '-f', '{{.Id}}', 'busybox']));
      await commitStep(side, 'one', 'busybox');
      await commitStep(side, 'two', side.ids.get('one')!, 'chain:top');
      await commitStep(side, 'leaf', 'busybox');
    }
  });

  after(async () => {
    await engine?.close();
    await dockerd?.stop();
  });

  /** Runs `check` on both sides and expects the same normalized answer. */
  async function same<T>(check: (side: Side) => Promise<T>): Promise<T> {
    const [ours, theirs] = [await check(sides[0]), await check(sides[1])];
    assert.deepEqual(ours, theirs);
    return ours;
  }

  test('docker images hides the intermediate image, -a lists it, dangling=true is the untagged leaf', async () => {
    assert.deepEqual(await same((s) => listed(s, [])), ['<none>:<none> <leaf>', 'busybox:latest <busybox>', 'chain:top <two>']);
    assert.deepEqual(await same((s) => listed(s, ['-a'])), ['<none>:<none> <leaf>', '<none>:<none> <one>', 'busybox:latest <busybox>', 'chain:top <two>']);
    assert.deepEqual(await same((s) => listed(s, ['-f', 'dangling=true'])), ['<none>:<none> <leaf>']);
    assert.deepEqual(await same((s) => listed(s, ['-a', '-f', 'dangling=false'])), ['busybox:latest <busybox>', 'chain:top <two>']);
  });

  test('inspect shows each commit parent, and none for an imported image', async () => {
    const parents = await same(async (s) =>
      Promise.all(['busybox', 'one', 'two', 'leaf'].map(async (role) => normalize(s, await ok(s, ['image', 'inspect', '-f', '{{.Parent}}', s.ids.get(role)!])))),
    );
    assert.deepEqual(parents, ['', '<busybox>', '<one>', '<busybox>']);
  });

  test('docker history names each entry by the image of the parent chain that made it, with its tags', async () => {
    const history = await same(async (s) => normalize(s, await ok(s, ['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}}', 'chain:top'])));
    assert.equal(history, ['<two> sh -c echo two > /two', '<one> sh -c echo one > /one', '<busybox>'].join('\n'));
  });

  test('an image with children cannot be deleted, even forced', async () => {
    const refusal = await same(async (s) => {
      const result = await s.docker(['rmi', '-f', s.ids.get('one')!]);
      return { code: result.code, stderr: normalize(s, result.stderr.trim()) };
    });
    assert.equal(refusal.stderr, 'Error response from daemon: conflict: unable to delete <one> (cannot be forced) - image has dependent child images');
  });

  test('rmi of the tagged child deletes it and its untagged parent, stopping at the tagged base', async () => {
    const output = await same(async (s) => normalize(s, await ok(s, ['rmi', 'chain:top'])));
    assert.equal(output, ['Untagged: chain:top', 'Deleted: <two>', 'Deleted: <layer>', 'Deleted: <one>', 'Deleted: <layer>'].join('\n'));
    assert.deepEqual(await same((s) => listed(s, ['-a'])), ['<none>:<none> <leaf>', 'busybox:latest <busybox>']);
  });

  test('image prune removes the dangling leaf; prune -a removes unused tagged images but not one a container uses', async () => {
    const pruned = await same(async (s) => normalize(s, await ok(s, ['image', 'prune', '-f'])));
    assert.equal(pruned, ['Deleted Images:', 'deleted: <leaf>', 'deleted: <layer>', '', 'Total reclaimed space: <size>'].join('\n'));
    for (const side of sides) {
      await commitStep(side, 'spare', 'busybox', 'spare:1');
      await ok(side, ['create', '--network', 'none', '--name', 'holder', 'busybox', 'true']);
    }
    const all = await same(async (s) => normalize(s, await ok(s, ['image', 'prune', '-a', '-f'])));
    assert.equal(all, ['Deleted Images:', 'untagged: spare:1', 'deleted: <spare>', 'deleted: <layer>', '', 'Total reclaimed space: <size>'].join('\n'));
    assert.deepEqual(await same((s) => listed(s, ['-a'])), ['busybox:latest <busybox>']);
    const reclaimed = await engine.docker(['image', 'prune', '-a', '-f']);
    assert.match(reclaimed.stdout, /^Total reclaimed space: 0B$/m);
  });

  test('builder prune answers as the CLI expects and leaves images docker commit made', async () => {
    await commitStep(sides[0], 'kept', 'busybox');
    const result = await engine.docker(['builder', 'prune', '-a', '-f', '--filter', 'until=1h']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Total reclaimed space: 0B/);
    assert.equal((await engine.docker(['image', 'inspect', '-f', '{{.Id}}', sides[0].ids.get('kept')!])).code, 0);
    const refused = await engine.docker(['builder', 'prune', '-f', '--filter', 'type=regular']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /invalid filter 'type'/);
  });
});
