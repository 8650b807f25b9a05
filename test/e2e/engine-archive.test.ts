import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importBusybox } from '../support/busybox.ts';
import { startDockerd, type Dockerd } from '../support/dockerd.ts';
import { runOk } from '../support/run.ts';
import { buildBusyboxRootfsTar, startTestEngine, type TestEngine } from './engine-harness.ts';

// docker save / docker load between wharf's engine and a real dockerd (Debian docker.io 20.10), both ways:
// dockerd 20.10 writes the older archive layout (<id>/layer.tar), wharf the OCI layout moby 25 writes.
describe('docker save and docker load, with dockerd on the other side', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;

  before(async () => {
    engine = await startTestEngine();
    dockerd = await startDockerd();
    const imported = await engine.docker(['import', '--change', 'CMD ["sh"]', await buildBusyboxRootfsTar(engine.root), 'busybox']);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal((await engine.docker(['run', '--name', 'maker', 'busybox', 'sh', '-c', 'echo saved >/greeting'])).code, 0);
    assert.equal((await engine.docker(['commit', '-c', 'CMD ["cat", "/greeting"]', 'maker', 'layered:v1'])).code, 0);
  });
  after(async () => {
    await engine?.close();
    await dockerd?.stop();
  });

  test('an archive saved by wharf loads into dockerd with the same image ID and runs there', async () => {
    const archive = join(engine.root, 'from-wharf.tar');
    const saved = await engine.docker(['save', '-o', archive, 'layered:v1']);
    assert.equal(saved.code, 0, saved.stderr);
    const files = (await runOk('tar', ['-tf', archive])).split('\n');
    for (const name of ['oci-layout', 'index.json', 'manifest.json']) assert.ok(files.includes(name), `${name} in ${files.join(', ')}`);
    const loaded = await dockerd.dockerOk(['load', '-i', archive]);
    assert.match(loaded, /Loaded image: layered:v1/);
    const wharfId = (await engine.docker(['image', 'inspect', '-f', '{{.Id}}', 'layered:v1'])).stdout.trim();
    assert.equal((await dockerd.dockerOk(['image', 'inspect', '-f', '{{.Id}}', 'layered:v1'])).trim(), wharfId);
    assert.equal((await dockerd.dockerOk(['run', '--rm', '--network', 'none', 'layered:v1'])).trim(), 'saved');
  });

  test('an archive saved by dockerd loads into wharf with the same image ID and runs', async () => {
    const id = await importBusybox(dockerd, 'from-dockerd:v2');
    const archive = join(engine.root, 'from-dockerd.tar');
    await dockerd.dockerOk(['save', '-o', archive, 'from-dockerd:v2']);
    const loaded = await engine.docker(['load', '-i', archive]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /Loaded image: from-dockerd:v2/);
    assert.equal((await engine.docker(['image', 'inspect', '-f', '{{.Id}}', 'from-dockerd:v2'])).stdout.trim(), id);
    assert.equal((await engine.docker(['run', '--rm', 'from-dockerd:v2', 'echo', 'ran'])).stdout, 'ran\n');
  });

  test('wharf round trip: save several images, remove them, load them back; bad archives are refused', async () => {
    const archive = join(engine.root, 'both.tar');
    assert.equal((await engine.docker(['save', '-o', archive, 'layered:v1', 'busybox'])).code, 0);
    assert.equal((await engine.docker(['rm', 'maker'])).code, 0);
    assert.equal((await engine.docker(['rmi', 'layered:v1', 'busybox'])).code, 0);
    const loaded = await engine.docker(['load', '-i', archive]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /Loaded image: layered:v1/);
    assert.match(loaded.stdout, /Loaded image: busybox:latest/);
    assert.equal((await engine.docker(['run', '--rm', 'layered:v1'])).stdout, 'saved\n');
    const missing = await engine.docker(['save', '-o', join(engine.root, 'x.tar'), 'no-such:image']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such image: no-such:image/);
    writeFileSync(join(engine.root, 'not-a-tar'), 'hello');
    const garbage = await engine.docker(['load', '-i', join(engine.root, 'not-a-tar')]);
    assert.notEqual(garbage.code, 0);
    assert.match(garbage.stderr + garbage.stdout, /Error processing tar file\(exit status 1\): unexpected EOF/);
  });

  test('a save that fails midway ends the archive with an error and leaves the engine serving', async () => {
    assert.equal((await engine.docker(['run', '--name', 'breaker', 'busybox', 'sh', '-c', 'echo x >/broken'])).code, 0);
    assert.equal((await engine.docker(['commit', 'breaker', 'broken:v1'])).code, 0);
    const top = (await engine.docker(['image', 'inspect', '-f', '{{index .RootFS.Layers 1}}', 'broken:v1'])).stdout.trim().slice(7);
    rmSync(join(engine.root, 'blobs', 'sha256', top.slice(0, 2), top));
    const saved = await engine.docker(['save', '-o', join(engine.root, 'broken.tar'), 'broken:v1']);
    assert.notEqual(saved.code, 0);
    assert.equal((await engine.docker(['version', '-f', '{{.Server.Version}}'])).code, 0, 'the engine is still up');
    assert.equal((await engine.docker(['rm', 'breaker'])).code, 0);
  });
});
