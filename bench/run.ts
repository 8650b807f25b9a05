/**
 * `npm run bench`: every benchmark in bench/, one after the other (never concurrently: they compare wall-clock
 * figures on the same two cores). `npm run bench -- registry --size 128M` runs one benchmark with its flags.
 * The soak takes half an hour, so it runs only when named: `npm run bench -- soak --minutes 30`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const benches = ['registry', 'engine', 'network'];
const onlyWhenNamed = ['soak'];
const [first, ...rest] = process.argv.slice(2);
const named = first !== undefined && !first.startsWith('-');
if (!named && first !== undefined) throw new Error('flags belong to one benchmark: npm run bench -- registry --size 128M');
const chosen = named ? [first] : benches;
const args = named ? rest : [];

for (const name of chosen) {
  const file = join(import.meta.dirname, `${name}.ts`);
  if (!existsSync(file)) throw new Error(`no benchmark bench/${name}.ts (have: ${[...benches, ...onlyWhenNamed].join(', ')})`);
  console.log(`\n## bench/${name}.ts ${args.join(' ')}\n`);
  const code = await new Promise<number>((resolve) => {
    spawn(process.execPath, [file, ...args], { stdio: 'inherit' }).once('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) process.exit(code);
}
