import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { configSchema } from '../../src/base/config.ts';

function leafKeys(schema: z.ZodType, prefix = ''): string[] {
  let current: unknown = schema;
  for (let depth = 0; depth < 5 && !(current instanceof z.ZodObject); depth++) {
    const def = (current as { def?: { innerType?: unknown; in?: unknown } }).def;
    if (!def?.innerType && !def?.in) break;
    current = def.innerType ?? def.in;
  }
  if (!(current instanceof z.ZodObject)) return [prefix];
  return Object.entries(current.shape).flatMap(([key, child]) =>
    leafKeys(child as z.ZodType, prefix ? `${prefix}.${key}` : key),
  );
}

test('docs/config.md documents every config key', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/config.md'), 'utf8');
  const missing = leafKeys(configSchema).filter((key) => !doc.includes(`\`${key}\``));
  assert.deepEqual(missing, []);
});
