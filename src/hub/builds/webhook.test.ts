import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { readHook } from './webhook.ts';

const secret = 'a-secret';
const after = 'a'.repeat(40);
const body = (extra: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after, repository: { clone_url: 'https://evil.example/x.git' }, ...extra }));
const hmac = (data: Buffer, key = secret) => createHmac('sha256', key).update(data).digest('hex');

test('a GitHub push to the branch, signed with the secret, builds the pushed commit', () => {
  const data = body();
  assert.deepEqual(readHook({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(data)}` }, data, secret, 'main'), { build: true, commit: after, sender: 'github' });
});

test('a missing signature is unauthenticated, a wrong one denied, before the payload is read', () => {
  const data = Buffer.from('not json');
  assert.throws(() => readHook({ 'x-github-event': 'push' }, data, secret, 'main'), { kind: 'unauthenticated' });
  assert.throws(() => readHook({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(data, 'other')}` }, data, secret, 'main'), { kind: 'permission-denied' });
  assert.throws(() => readHook({ 'x-github-event': 'push', 'x-hub-signature-256': hmac(data) }, data, secret, 'main'), { kind: 'permission-denied' }, 'GitHub prefixes sha256=');
  assert.throws(() => readHook({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'a-secreT' }, data, secret, 'main'), { kind: 'permission-denied' });
});

test('Gitea signs with a bare hex HMAC; GitLab sends the token and checkout_sha', () => {
  const data = body();
  assert.deepEqual(readHook({ 'x-gitea-event': 'push', 'x-gitea-signature': hmac(data), 'x-github-event': 'push' }, data, secret, 'main'), { build: true, commit: after, sender: 'gitea' });
  const lab = body({ checkout_sha: 'b'.repeat(40) });
  assert.deepEqual(readHook({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret }, lab, secret, 'main'), { build: true, commit: 'b'.repeat(40), sender: 'gitlab' });
});

test('pings, other events, other branches and deletions are ignored with the reason', () => {
  const sign = (data: Buffer) => `sha256=${hmac(data)}`;
  const ping = Buffer.from('{"zen":"x"}');
  assert.deepEqual(readHook({ 'x-github-event': 'ping', 'x-hub-signature-256': sign(ping) }, ping, secret, 'main'), { build: false, ignored: 'ping' });
  const data = body({ ref: 'refs/heads/feature' });
  assert.match(String((readHook({ 'x-github-event': 'push', 'x-hub-signature-256': sign(data) }, data, secret, 'main') as { ignored: string }).ignored), /refs\/heads\/feature, not refs\/heads\/main/);
  const issue = body();
  assert.equal(readHook({ 'x-github-event': 'issues', 'x-hub-signature-256': sign(issue) }, issue, secret, 'main').build, false);
  const deleted = body({ after: '0'.repeat(40), deleted: true });
  assert.deepEqual(readHook({ 'x-github-event': 'push', 'x-hub-signature-256': sign(deleted) }, deleted, secret, 'main'), { build: false, ignored: 'refs/heads/main was deleted' });
});

test("GitHub's form encoding carries the JSON in `payload`, signed as sent", () => {
  const data = Buffer.from(new URLSearchParams({ payload: body().toString() }).toString());
  assert.deepEqual(readHook({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(data)}`, 'content-type': 'application/x-www-form-urlencoded' }, data, secret, 'main'), { build: true, commit: after, sender: 'github' });
});

test('an unknown sender or a payload without a 40-hex commit is a 400', () => {
  assert.throws(() => readHook({}, body(), secret, 'main'), { kind: 'invalid-argument' });
  const data = body({ after: 'HEAD' });
  assert.throws(() => readHook({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(data)}` }, data, secret, 'main'), /after: expected a 40-hex commit/);
});
