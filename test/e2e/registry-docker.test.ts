import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importBusybox } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { startTestWharf, type TestWharf } from '../support/wharf.ts';

const digestIn = (output: string) => /digest: (sha256:[a-f0-9]{64})/.exec(output)?.[1];

// Real client: a private dockerd from Debian's docker.io, driven by the docker CLI, pushing to and pulling from wharf.
describe('docker push and pull through a real dockerd', () => {
  let dockerd: Dockerd;
  let wharf: TestWharf;
  let imageId: string;

  before(async () => {
    [dockerd, wharf] = await Promise.all([startDockerd(), startTestWharf()]);
    imageId = await importBusybox(dockerd, 'busybox:e2e');
  });

  after(async () => {
    await dockerd?.stop();
    await wharf?.close();
  });

  test('an image pushed with docker push pulls back identical', async () => {
    const ref = `${wharf.host}/library/busybox:e2e`;
    await dockerd.dockerOk(['tag', 'busybox:e2e', ref]);
    const pushedDigest = digestIn(await dockerd.dockerOk(['push', ref]));
    assert.ok(pushedDigest);

    await dockerd.dockerOk(['rmi', ref, 'busybox:e2e']);
    assert.equal((await dockerd.docker(['image', 'inspect', imageId])).code, 1, 'the image is gone before the pull');
    const pull = await dockerd.dockerOk(['pull', ref]);
    assert.match(pull, new RegExp(`Digest: ${pushedDigest}`));
    assert.equal((await dockerd.dockerOk(['image', 'inspect', '--format', '{{.Id}}', ref])).trim(), imageId);
    const repoDigests = await dockerd.dockerOk(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]);
    assert.deepEqual(JSON.parse(repoDigests), [`${wharf.host}/library/busybox@${pushedDigest}`]);
    const byDigest = await dockerd.dockerOk(['pull', `${wharf.host}/library/busybox@${pushedDigest}`]);
    assert.match(byDigest, /Image is up to date|Status: Downloaded/);
  });

  test('a second push of the same image finds every layer already there', async () => {
    const ref = `${wharf.host}/library/busybox:again`;
    await dockerd.dockerOk(['tag', `${wharf.host}/library/busybox:e2e`, ref]);
    const push = await dockerd.dockerOk(['push', ref]);
    assert.match(push, /(Layer already exists|Mounted from)/);
  });

  test('pushing to another repository mounts the layer from the first', async () => {
    const ref = `${wharf.host}/other/busybox:e2e`;
    await dockerd.dockerOk(['tag', `${wharf.host}/library/busybox:e2e`, ref]);
    assert.match(await dockerd.dockerOk(['push', ref]), /Mounted from library\/busybox|Layer already exists/);
  });

  test('a two-layer image made with docker commit round-trips and runs', async () => {
    const ref = `${wharf.host}/e2e/greeting:v1`;
    await dockerd.dockerOk(['run', '--name', 'maker', '--network', 'none', `${wharf.host}/library/busybox:e2e`, 'sh', '-c', 'echo hello-wharf > /greeting']);
    await dockerd.dockerOk(['commit', '--change', 'CMD ["cat", "/greeting"]', 'maker', ref]);
    await dockerd.dockerOk(['rm', 'maker']);
    const layers = await dockerd.dockerOk(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref]);
    assert.equal(JSON.parse(layers).length, 2);
    const id = (await dockerd.dockerOk(['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
    const pushedDigest = digestIn(await dockerd.dockerOk(['push', ref]));
    assert.ok(pushedDigest);

    await dockerd.dockerOk(['rmi', ref]);
    await dockerd.dockerOk(['pull', ref]);
    assert.equal((await dockerd.dockerOk(['image', 'inspect', '--format', '{{.Id}}', ref])).trim(), id);
    assert.equal(await dockerd.dockerOk(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref]), layers);
    assert.equal((await dockerd.dockerOk(['run', '--rm', '--network', 'none', ref])).trim(), 'hello-wharf');
  });

  test('pulling a tag that does not exist fails with the manifest unknown error', async () => {
    const result = await dockerd.docker(['pull', `${wharf.host}/library/busybox:nope`]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /manifest unknown|not found/i);
  });
});
