import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { parseHtpasswd } from './htpasswd.ts';

const hash = (prefix: string) => `${prefix}05$${'a'.repeat(53)}`;

test('bcrypt entries are read as $2y$, $2a$ and $2b$; other hashes are listed as ignored', () => {
  const text = [
    '# comment',
    '',
    `alice:${hash('$2y$')}`,
    `bob:${hash('$2a$')}\r`,
    `carol:${hash('$2b$')}`,
    'dave:$apr1$abc$def',
    'erin:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
    'frank:plain',
    'no-colon-line',
    ':nameless',
    `alice:${hash('$2b$')}`,
  ].join('\n');
  const { entries, ignored } = parseHtpasswd(text);
  assert.deepEqual([...entries.keys()], ['alice', 'bob', 'carol']);
  assert.equal(entries.get('alice'), hash('$2y$'), 'the first entry for a name wins');
  assert.deepEqual(ignored, ['dave', 'erin', 'frank']);
});

test('a line written by `htpasswd -nbB` verifies with bcryptjs, $2y$ as it is', async () => {
  const line = execFileSync('htpasswd', ['-nbB', 'zoe', 'zoe secret:with colon']).toString().trim();
  const { entries } = parseHtpasswd(line);
  const stored = entries.get('zoe') ?? '';
  assert.match(stored, /^\$2y\$/);
  assert.ok(await bcrypt.compare('zoe secret:with colon', stored));
  assert.ok(!(await bcrypt.compare('zoe secret', stored)));
});
