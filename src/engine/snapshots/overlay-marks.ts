/*
 * overlayfs keeps its bookkeeping where Node cannot reach: a whiteout is a character device 0/0 and an opaque
 * directory carries the xattr `trusted.overlay.opaque=y`. Node has neither mknod(2) nor the xattr calls, and
 * Debian's `attr` tools are not always installed, but perl is (perl-base is essential) and its `syscall`
 * reaches the kernel directly. One perl process handles a whole batch (a layer's marks), so a layer costs at
 * most one spawn. Paths travel NUL-terminated on stdin: any byte but NUL is allowed in them.
 */
import { spawn } from 'node:child_process';
import { Fault } from '../../base/fault.ts';

/** System call numbers of lsetxattr, lgetxattr and mknodat by architecture (asm/unistd*.h). */
const syscalls: Record<string, { lsetxattr: number; lgetxattr: number; mknodat: number }> = {
  x64: { lsetxattr: 189, lgetxattr: 192, mknodat: 259 },
  arm64: { lsetxattr: 6, lgetxattr: 9, mknodat: 33 },
};

// W<path>: mknod a whiteout (S_IFCHR, dev 0). O<path>: set opaque. G<path>: print 1 or 0 (opaque or not).
const script = String.raw`
$/ = "\0"; my ($set, $get, $mknod) = map { $_ + 0 } @ARGV;
my ($key, $yes) = ("trusted.overlay.opaque", "y");
while (my $rec = <STDIN>) {
  chomp $rec; my $op = substr($rec, 0, 1); my $path = substr($rec, 1);
  if ($op eq "W") { syscall($mknod, -100, $path, 8192, 0) == 0 or die "mknod $path: $!\n"; }
  elsif ($op eq "O") { syscall($set, $path, $key, $yes, 1, 0) == 0 or die "setxattr $path: $!\n"; }
  elsif ($op eq "G") { my $buf = "\0" x 8; my $n = syscall($get, $path, $key, $buf, 8);
    print(($n > 0 && substr($buf, 0, 1) eq "y") ? "1\0" : "0\0"); }
}`;

function numbers(): string[] {
  const n = syscalls[process.arch];
  if (!n) throw new Fault('not-implemented', `overlay whiteouts are not supported on ${process.arch}`);
  return [String(n.lsetxattr), String(n.lgetxattr), String(n.mknodat)];
}

async function runBatch(records: string[]): Promise<string> {
  if (!records.length) return '';
  const child = spawn('perl', ['-e', script, ...numbers()], { stdio: ['pipe', 'pipe', 'pipe'] });
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
  if (code !== 0) throw new Fault('unavailable', `writing overlay marks failed: ${Buffer.concat(err).toString().trim()}`);
  return Buffer.concat(out).toString();
}

/** Creates whiteout devices at `whiteouts` (which must not exist) and marks `opaque` directories. */
export async function writeOverlayMarks(marks: { whiteouts: Iterable<string>; opaque: Iterable<string> }): Promise<void> {
  await runBatch([...[...marks.whiteouts].map((p) => `W${p}`), ...[...marks.opaque].map((p) => `O${p}`)]);
}

/** Which of `dirs` are opaque. */
export async function opaqueDirectories(dirs: readonly string[]): Promise<Set<string>> {
  const answers = (await runBatch(dirs.map((d) => `G${d}`))).split('\0');
  return new Set(dirs.filter((_, i) => answers[i] === '1'));
}

/** A whiteout as overlayfs writes it: a character device with device number 0/0. */
export function isWhiteout(stat: { isCharacterDevice(): boolean; rdev: number }): boolean {
  return stat.isCharacterDevice() && stat.rdev === 0;
}
