import { runOk } from './run.ts';

/**
 * The extended attributes of `path` (a symlink's own), as `getfattr` from Debian's `attr` sees them: name -> value
 * in hex. An independent reader for the engine's perl-based one.
 */
export async function getXattrs(path: string): Promise<Record<string, string>> {
  const out = await runOk('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', path]);
  const xattrs: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const match = /^([^#=][^=]*)(?:=0x([0-9a-f]*))?$/.exec(line);
    if (match) xattrs[match[1]] = match[2] ?? '';
  }
  return xattrs;
}

/** Sets one extended attribute of `path` (a symlink's own) with `setfattr`; `hex` is the value's bytes in hex. */
export async function setXattr(path: string, name: string, hex: string): Promise<void> {
  await runOk('setfattr', ['-h', '-n', name, '-v', `0x${hex}`, path]);
}
