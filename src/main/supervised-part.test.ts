import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../base/config.ts';
import { createLogger } from '../base/log.ts';
import { SupervisedPart } from './supervised-part.ts';

test('a part that never becomes ready is killed after its ready timeout and its start fails saying so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-part-'));
  try {
    // Takes the start message and then hangs, as a part stuck on a mount or a lock would.
    const entry = join(dir, 'hang.ts');
    writeFileSync(entry, "process.on('message', () => undefined);\nsetInterval(() => undefined, 1000);\n");
    const config = configSchema.parse({ root: dir });
    const part = new SupervisedPart({ part: 'registry', config: () => config, entry, logger: createLogger({ level: 'silent' }), stopGraceMs: 1000, readyTimeoutMs: 500 });
    await assert.rejects(part.start(), /registry failed to start: not ready within 0.5 s/);
    await part.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
