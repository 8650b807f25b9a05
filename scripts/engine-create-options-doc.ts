// Writes docs/engine-create-options.md from the create-support table.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSupportMarkdown } from '../src/engine/containers/create-support-doc.ts';

writeFileSync(resolve(import.meta.dirname, '../docs/engine-create-options.md'), createSupportMarkdown());
