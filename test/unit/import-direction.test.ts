import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

// ARCHITECTURE.md: imports point down. Each layer lists the top-level folders of src/ it may import.
const allowed: Record<string, string[]> = {
  base: ['base'],
  oci: ['oci', 'base'],
  store: ['store', 'oci', 'base'],
  meta: ['meta', 'oci', 'base'],
  client: ['client', 'store', 'meta', 'oci', 'base'],
  auth: ['auth', 'meta', 'store', 'oci', 'base'],
  registry: ['registry', 'client', 'auth', 'meta', 'store', 'oci', 'base'],
  engine: ['engine', 'client', 'meta', 'store', 'oci', 'base'],
  // The browser app: nothing of the server's (its API shapes are web/api-types.ts, which hub imports as types).
  web: ['web'],
  hub: ['hub', 'web', 'engine', 'registry', 'auth', 'client', 'meta', 'store', 'oci', 'base'],
  main: ['main', 'hub', 'engine', 'registry', 'auth', 'web', 'client', 'meta', 'store', 'oci', 'base'],
  cli: ['cli', 'main', 'hub', 'engine', 'registry', 'auth', 'web', 'client', 'meta', 'store', 'oci', 'base'],
};

const src = resolve(import.meta.dirname, '../../src');

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) yield path;
  }
}

function layerOf(file: string): string {
  return relative(src, file).split('/')[0];
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers.map((s) => resolve(dirname(file), s));
}

test('every import in src/ points down the layer graph', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const from = layerOf(file);
    for (const target of relativeImports(file)) {
      const to = layerOf(target);
      if (!allowed[from]?.includes(to)) violations.push(`${relative(src, file)} -> ${relative(src, target)}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('no import cycles between source files', () => {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) graph.set(file, relativeImports(file).filter((t) => t.endsWith('.ts')));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(' -> '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});
