/*
 * Node has neither mknod(2) nor the xattr calls, and Debian's `attr` tools are not always installed, but perl is
 * (perl-base is essential) and its `syscall` reaches the kernel directly. A caller hands one script a whole batch
 * (a layer's marks, a layer's xattrs), so a layer costs one spawn per kind of work. Records travel
 * NUL-terminated on stdin and stdout: any byte but NUL is allowed in paths and names, values travel as hex.
 */
import { spawn } from 'node:child_process';
import { Fault } from '../../base/fault.ts';

export type SyscallName = 'lsetxattr' | 'lgetxattr' | 'llistxattr' | 'mknodat';

/** System call numbers by architecture (asm/unistd_64.h, asm-generic/unistd.h). */
const syscalls: Record<string, Record<SyscallName, number>> = {
  x64: { lsetxattr: 189, lgetxattr: 192, llistxattr: 195, mknodat: 259 },
  arm64: { lsetxattr: 6, lgetxattr: 9, llistxattr: 12, mknodat: 33 },
};

/**
 * Runs `script` with the numbers of `calls` as its arguments and `records` NUL-terminated on stdin; resolves with
 * stdout's NUL-terminated records. `what` names the work in errors.
 */
export async function runPerlBatch(script: string, calls: readonly SyscallName[], records: readonly string[], what: string): Promise<string[]> {
  if (!records.length) return [];
  const numbers = syscalls[process.arch];
  if (!numbers) throw new Fault('not-implemented', `${what} is not supported on ${process.arch}`);
  const child = spawn('perl', ['-e', script, ...calls.map((c) => String(numbers[c]))], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const closed = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(records.map((r) => `${r}\0`).join(''));
  const code = await closed;
  if (code !== 0) throw new Fault('unavailable', `${what} failed: ${Buffer.concat(err).toString().trim()}`);
  const text = Buffer.concat(out).toString();
  return text ? text.slice(0, -1).split('\0') : [];
}
