/*
 * overlayfs keeps its bookkeeping where Node cannot reach: a whiteout is a character device 0/0 and an opaque
 * directory carries the xattr `trusted.overlay.opaque=y`. One perl process (perl-syscalls.ts) handles a whole
 * batch (a layer's marks), so a layer costs at most one spawn.
 */
import { runPerlBatch } from './perl-syscalls.ts';

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

function runBatch(records: string[]): Promise<string[]> {
  return runPerlBatch(script, ['lsetxattr', 'lgetxattr', 'mknodat'], records, 'overlay marks');
}

/** Creates whiteout devices at `whiteouts` (which must not exist) and marks `opaque` directories. */
export async function writeOverlayMarks(marks: { whiteouts: Iterable<string>; opaque: Iterable<string> }): Promise<void> {
  await runBatch([...[...marks.whiteouts].map((p) => `W${p}`), ...[...marks.opaque].map((p) => `O${p}`)]);
}

/** Which of `dirs` are opaque. */
export async function opaqueDirectories(dirs: readonly string[]): Promise<Set<string>> {
  const answers = await runBatch(dirs.map((d) => `G${d}`));
  return new Set(dirs.filter((_, i) => answers[i] === '1'));
}

/** A whiteout as overlayfs writes it: a character device with device number 0/0. */
export function isWhiteout(stat: { isCharacterDevice(): boolean; rdev: number }): boolean {
  return stat.isCharacterDevice() && stat.rdev === 0;
}
