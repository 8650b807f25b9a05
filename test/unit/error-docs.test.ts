import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { codeAliases, defaultErrorForKind, distributionErrors, statusForKind } from '../../src/oci/distribution-errors.ts';

test('docs/errors.md lists every registry error code with its status and message', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  for (const [code, spec] of Object.entries(distributionErrors)) {
    assert.ok(doc.includes(`| \`${code}\` | ${spec.status} | ${spec.message} |`), `${code} is missing or differs`);
  }
});

test("docs/errors.md lists every wharf code with the registry code it answers as", () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  for (const [code, answer] of Object.entries(codeAliases)) {
    assert.ok(doc.includes(`| \`${code}\` | ${distributionErrors[answer].status} | \`${answer}\` |`), `${code} is missing or differs`);
  }
});

test('docs/errors.md lists every fault kind whose registry status wins over its code (416, 413, 507)', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  for (const [kind, status] of Object.entries(statusForKind)) {
    const code = defaultErrorForKind[kind as keyof typeof defaultErrorForKind].code;
    assert.ok(doc.includes(`| \`${kind}\` | ${status} | \`${code}\` |`), `${kind} is missing or differs`);
  }
});

test('docs/errors.md lists the engine status of every fault kind', async () => {
  const { engineStatusByKind } = await import('../../src/engine/api/api-errors.ts');
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  for (const [kind, status] of Object.entries(engineStatusByKind)) {
    assert.ok(doc.includes(`| \`${kind}\` | ${status} |`), `${kind} is missing or differs`);
  }
});
