import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { runHostCommand } from './host-commands.ts';
import { createNetns, deleteNetns, netnsName, netnsPath } from './netns.ts';

test('a created namespace is mounted under /run/netns with its loopback up, and can be made and deleted twice', async () => {
  const name = `wharf-t${randomBytes(6).toString('hex')}`;
  try {
    const path = await createNetns(name);
    assert.equal(path, `/run/netns/${name}`);
    assert.equal(await createNetns(name), path);
    assert.equal(netnsName(path), name);
    assert.match(await runHostCommand(['ip', '-n', name, '-o', 'link', 'show', 'lo']), /<LOOPBACK,UP,LOWER_UP>/);
    assert.match(await runHostCommand(['ip', 'netns', 'exec', name, 'busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']), /1 packets received/);
  } finally {
    await deleteNetns(name);
    await deleteNetns(name);
  }
  assert.equal(existsSync(netnsPath(name)), false);
});

test('namespace names and paths that would leave /run/netns are refused', () => {
  for (const bad of ['', '../etc', 'a/b', 'a b', '-n']) assert.throws(() => netnsPath(bad), (err) => isFault(err, 'invalid-argument'));
  for (const bad of ['/proc/1/ns/net', '/run/netns/a/b', '/run/netns/']) assert.throws(() => netnsName(bad), (err) => isFault(err, 'invalid-argument'));
});
