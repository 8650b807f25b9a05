// Builds the web UI (src/web, preact + vite) into dist/ui and writes a gzip twin beside each text asset, which the
// registry serves to clients that accept it (src/hub/static-ui.ts). Skips the build when dist/ui is newer than
// every source (pass --force to build anyway), so scripts/install-deps.sh may run it every time.
import { createReadStream, createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants } from 'node:zlib';

const repo = resolve(import.meta.dirname, '..');
const web = join(repo, 'src/web');
const out = join(repo, 'dist/ui');
const compressible = /\.(js|css|html|svg|json|map|txt)$/;

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

function newestSource(): number {
  const inputs = [...files(web), join(repo, 'package-lock.json'), import.meta.filename].filter(existsSync);
  return Math.max(...inputs.map((path) => statSync(path).mtimeMs));
}

function upToDate(): boolean {
  const index = join(out, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs > newestSource();
}

async function gzipAssets(): Promise<number> {
  let count = 0;
  for (const path of files(out)) {
    if (!compressible.test(path)) continue;
    await pipeline(createReadStream(path), createGzip({ level: constants.Z_BEST_COMPRESSION }), createWriteStream(`${path}.gz`));
    count++;
  }
  return count;
}

async function main(): Promise<void> {
  if (!process.argv.includes('--force') && upToDate()) {
    console.log(`build-ui: ${relative(repo, out)} is up to date`);
    return;
  }
  const { build } = await import('vite');
  await build({ configFile: join(web, 'vite.config.ts'), logLevel: 'warn' });
  const gzipped = await gzipAssets();
  console.log(`build-ui: built ${relative(repo, out)} (${gzipped} files gzipped)`);
}

await main();
