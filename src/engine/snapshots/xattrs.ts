/*
 * Extended attributes of a layer's files, a batch at a time (one perl process, perl-syscalls.ts), with lsetxattr /
 * llistxattr + lgetxattr semantics: a symlink's own attributes, never its target's.
 * Which names a layer may carry: user.*, security.* and trusted.*, but never trusted.overlay.*: overlayfs reads
 * those as its own bookkeeping, so a layer carrying one could forge an opaque directory or a redirect that
 * reaches another layer's files. Whiteouts and opaque directories travel as `.wh.` entries instead.
 */
import { constants } from 'node:os';
import { Fault } from '../../base/fault.ts';
import { runPerlBatch } from './perl-syscalls.ts';

export type Xattrs = Map<string, Buffer>;

export interface XattrWrite {
  path: string;
  xattrs: Xattrs;
}

const allowedNamespaces = ['user.', 'security.', 'trusted.'];
const overlayNamespace = 'trusted.overlay.';

// S path name hex: lsetxattr; a failure prints errno, message, path and name, and the batch goes on.
const setScript = String.raw`
$/ = "\0"; my ($set) = map { $_ + 0 } @ARGV;
while (defined(my $path = <STDIN>)) {
  my $name = <STDIN>; my $hex = <STDIN>; chomp($path, $name, $hex);
  my $value = pack("H*", $hex);
  syscall($set, $path, $name, $value, length($value), 0) == 0 or print(($! + 0) . "\0$!\0$path\0$name\0");
}`;

// path: prints "index name hex" for each attribute of the index-th path (none where the filesystem has none).
const listScript = String.raw`
$/ = "\0"; my ($list, $get) = map { $_ + 0 } @ARGV; my $i = 0;
my $names = "\0" x 65536; my $value = "\0" x 65536;
while (defined(my $path = <STDIN>)) {
  chomp $path; my $n = syscall($list, $path, $names, 65536);
  if ($n < 0) { $! == 95 or $! == 61 or die "llistxattr $path: $!\n"; $n = 0; }
  for my $name (split /\0/, substr($names, 0, $n)) {
    my $m = syscall($get, $path, $name, $value, 65536);
    if ($m < 0) { $! == 61 and next; die "lgetxattr $path $name: $!\n"; }
    print "$i\0$name\0" . unpack("H*", substr($value, 0, $m)) . "\0";
  }
  $i++;
}`;

/** Refuses a name a layer may not set (see the top of this file). `where` names the entry in the error. */
export function checkLayerXattr(name: string, where: string): void {
  if (name.startsWith(overlayNamespace)) {
    throw new Fault('invalid-argument', `invalid tar entry ${JSON.stringify(where)}: extended attribute ${JSON.stringify(name)} belongs to overlayfs and cannot come from an archive`);
  }
  if (!allowedNamespaces.some((ns) => name.startsWith(ns) && name.length > ns.length)) {
    throw new Fault('invalid-argument', `invalid tar entry ${JSON.stringify(where)}: extended attribute ${JSON.stringify(name)} is not in the user, security or trusted namespace`);
  }
}

/**
 * Sets every attribute of `writes`. As moby's archive does, a filesystem that refuses an attribute with EPERM
 * (user.* on a symlink or a device) or lacks it (ENOTSUP) does not fail the batch: those come back as warnings.
 */
export async function writeXattrs(writes: readonly XattrWrite[]): Promise<{ ignored: string[] }> {
  const records = writes.flatMap(({ path, xattrs }) => [...xattrs].flatMap(([name, value]) => [path, name, value.toString('hex')]));
  const failures = await runPerlBatch(setScript, ['lsetxattr'], records, 'setting extended attributes');
  const ignored: string[] = [];
  for (let i = 0; i + 3 < failures.length; i += 4) {
    const [errno, message, path, name] = failures.slice(i, i + 4);
    const text = `setting extended attribute ${JSON.stringify(name)} on ${path}: ${message}`;
    if (Number(errno) !== constants.errno.EPERM && Number(errno) !== constants.errno.ENOTSUP) throw new Fault('invalid-argument', text);
    ignored.push(text);
  }
  return { ignored };
}

/** The attributes of each of `paths` (in the same order), symlinks' own. */
export async function readXattrs(paths: readonly string[]): Promise<Xattrs[]> {
  const out = paths.map((): Xattrs => new Map());
  const records = await runPerlBatch(listScript, ['llistxattr', 'lgetxattr'], paths, 'reading extended attributes');
  for (let i = 0; i + 2 < records.length; i += 3) out[Number(records[i])].set(records[i + 1], Buffer.from(records[i + 2], 'hex'));
  return out;
}
