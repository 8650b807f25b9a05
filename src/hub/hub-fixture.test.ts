import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedHubAuth } from './hub-fixture.ts';

test('fixedHubAuth.requireAdmin refuses a robot token, even on an admin account, as the real HubAuth does', async () => {
  const admin = fixedHubAuth({ account: 'root', admin: true });
  admin.requireAdmin(await admin.caller({} as never));
  const robot = fixedHubAuth({ account: 'root', admin: true, tokenId: '0123456789abcdef', scopes: [] });
  assert.throws(() => robot.requireAdmin({ identity: { account: 'root', admin: true, tokenId: '0123456789abcdef' }, ip: '127.0.0.1', via: 'basic' }), { kind: 'permission-denied' });
  const anonymous = fixedHubAuth({ admin: false });
  assert.throws(() => anonymous.requireAdmin({ identity: { admin: false }, ip: '127.0.0.1', via: 'anonymous' }), { kind: 'unauthenticated' });
});
