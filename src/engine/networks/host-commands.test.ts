import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { HostCommandError, ipBatch, isMissingDevice, iptablesRestore, isMissingRule, runHostCommand } from './host-commands.ts';

test('a host command gets its stdin and gives back its stdout', async () => {
  assert.equal(await runHostCommand(['busybox', 'cat'], 'through stdin'), 'through stdin');
});

test('a failed host command rejects with its argv, exit code and stderr, as an unavailable fault', async () => {
  const err = await ipBatch(['link del wharf-no-such0']).then(() => assert.fail('deleted a missing device'), (e: unknown) => e);
  assert.ok(err instanceof HostCommandError);
  assert.ok(isFault(err, 'unavailable'));
  assert.deepEqual(err.argv, ['ip', '-batch', '-']);
  assert.notEqual(err.exitCode, 0);
  assert.match(err.stderr, /Cannot find device "wharf-no-such0"/);
  assert.ok(isMissingDevice(err));
});

test('deleting a rule that is not there is told apart from other firewall errors', async () => {
  const missing = await iptablesRestore({ nat: ['-D WHARF-00000000-NONE -j ACCEPT'] }).catch((e: unknown) => e);
  assert.ok(isMissingRule(missing), String(missing));
  const wrong = await iptablesRestore({ nat: ['-Q nonsense'] }).catch((e: unknown) => e);
  assert.ok(wrong instanceof HostCommandError && !isMissingRule(wrong), String(wrong));
});

test('a program that cannot be started rejects as well', async () => {
  await assert.rejects(runHostCommand(['/nonexistent/tool']), (err) => err instanceof HostCommandError && /ENOENT/.test(err.stderr));
});
