import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../../../test/support/temp.ts';
import { resolveChown } from './copy-owner.ts';

const passwd = 'root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:1000:1001:App:/home/app:/bin/sh\n';
const group = 'root:x:0:\nstaff:x:50:app\napp:x:1001:\n';

test('--chown names are looked up in the image root, numbers are taken as they are', async () => {
  await withTempDir('wharf-chown-', async (root) => {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), passwd);
    writeFileSync(join(root, 'etc', 'group'), group);
    assert.deepEqual(await resolveChown(root, 'app:staff'), { uid: 1000, gid: 50 });
    assert.deepEqual(await resolveChown(root, 'app'), { uid: 1000, gid: 1001 }, 'a lone user is also the group');
    assert.deepEqual(await resolveChown(root, '42:staff'), { uid: 42, gid: 50 });
    assert.deepEqual(await resolveChown(root, '7:8'), { uid: 7, gid: 8 });
    await assert.rejects(resolveChown(root, 'nobody:staff'), {
      message: 'unable to convert uid/gid chown string to host mapping: can\'t find uid for user nobody: no such user: nobody',
    });
    await assert.rejects(resolveChown(root, 'app:wheel'), {
      message: 'unable to convert uid/gid chown string to host mapping: can\'t find gid for group wheel: no such group: wheel',
    });
    await assert.rejects(resolveChown(root, 'a:b:c'), { message: 'invalid chown string format: a:b:c' });
  });
});

test('numeric --chown needs no /etc files; a name without them fails as moby says', async () => {
  await withTempDir('wharf-chown-', async (root) => {
    assert.deepEqual(await resolveChown(root, '1:2'), { uid: 1, gid: 2 });
    await assert.rejects(resolveChown(root, 'app'), {
      message: 'unable to convert uid/gid chown string to host mapping: can\'t find uid for user app: open /etc/passwd: no such file or directory',
    });
  });
});

test('an /etc/passwd that is an absolute symlink is read inside the root, not on the host', async () => {
  await withTempDir('wharf-chown-', async (root) => {
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data', 'passwd'), 'svc:x:321:321::/:/bin/sh\n');
    writeFileSync(join(root, 'data', 'group'), 'svc:x:654:\n');
    symlinkSync('/data/passwd', join(root, 'etc', 'passwd'));
    symlinkSync('../../../../data/group', join(root, 'etc', 'group'));
    assert.deepEqual(await resolveChown(root, 'svc'), { uid: 321, gid: 654 });
    await assert.rejects(resolveChown(root, 'root'), /no such user: root/, "the host's root user is not the image's");
  });
});
