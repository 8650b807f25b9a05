import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { Fault } from '../../base/fault.ts';
import { resolveInRoot } from '../build/scoped-copy.ts';

/**
 * moby's copyExistingContents: a volume that is still empty, mounted over a directory the image has content in,
 * gets that content once (files, modes, owners, xattrs, times). The image path is resolved inside the rootfs, so
 * a symlink in the image cannot make the copy read the host.
 */
export async function copyUp(rootfs: string, destination: string, volumeDir: string): Promise<void> {
  const source = await resolveInRoot(rootfs, destination);
  const st = await stat(source).catch(() => undefined);
  if (!st?.isDirectory()) return;
  if ((await readdir(volumeDir)).length) return;
  await run('cp', ['-a', '--', `${source}/.`, `${volumeDir}/`]);
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (err) => reject(new Fault('unavailable', `${command} could not start: ${err.message}`, { cause: err })));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Fault('unavailable', `copying image content into a volume failed: ${stderr.trim()}`))));
  });
}
