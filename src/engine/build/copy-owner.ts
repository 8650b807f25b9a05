/*
 * `--chown=user:group` of COPY/ADD as moby's classic builder resolves it (internals_linux.go parseChownFlag):
 * a number is taken as it is, a name is looked up in the image's own /etc/passwd or /etc/group (resolved inside
 * the root, never the host's), a lone user is also the group. The wording of each failure is moby's.
 */
import { readFile } from 'node:fs/promises';
import { Fault } from '../../base/fault.ts';
import { type Owner, resolveInRoot } from './scoped-copy.ts';

/** The uid and gid `chown` names inside the container root `root`. */
export async function resolveChown(root: string, chown: string): Promise<Owner> {
  const parts = chown.split(':');
  if (parts.length > 2) throw new Fault('invalid-argument', `invalid chown string format: ${chown}`);
  const [user, group = user] = parts as [string, string?];
  try {
    const uid = await lookup(root, 'passwd', user, 'uid', 'user');
    const gid = await lookup(root, 'group', group!, 'gid', 'group');
    return { uid, gid };
  } catch (err) {
    throw new Fault('invalid-argument', `unable to convert uid/gid chown string to host mapping: ${(err as Error).message}`, { cause: err });
  }
}

const numeric = /^[+-]?\d+$/;

async function lookup(root: string, file: 'passwd' | 'group', name: string, id: 'uid' | 'gid', what: 'user' | 'group'): Promise<number> {
  if (numeric.test(name)) return Number(name);
  const path = await resolveInRoot(root, `/etc/${file}`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`can't find ${id} for ${what} ${name}: open /etc/${file}: ${describeErrno(err)}`, { cause: err });
  }
  // passwd and group both keep the name first and the id third (name:password:id:...).
  const line = text.split('\n').map((l) => l.trim().split(':')).find((fields) => fields.length >= 3 && fields[0] === name);
  const found = line && numeric.test(line[2]!) ? Number(line[2]) : undefined;
  if (found === undefined) throw new Error(`can't find ${id} for ${what} ${name}: no such ${what}: ${name}`);
  return found;
}

function describeErrno(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EISDIR') return 'is a directory';
  return (err as Error).message;
}
