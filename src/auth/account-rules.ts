import { Fault } from '../base/fault.ts';
import { parseScopes } from './scope.ts';

/** What `wharf user add` and the hub's user administration accept as a password. */
export const minPasswordLength = 6;
export const maxPasswordLength = 1024;

// Everything a robot token may do is still capped by its user's ACL.
const everything = ['repository:**:pull,push,delete', 'registry:catalog:*'];

/** User names become repository namespaces (`<account>/…`), so they follow the name grammar's characters. */
export function isValidUserName(name: string): boolean {
  return /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/.test(name) && name.length >= 2;
}

export function validUserName(name: string): string {
  if (!isValidUserName(name)) {
    throw new Fault('invalid-argument', `invalid user name "${name.slice(0, 70)}": 2-64 of a-z 0-9 . _ -, starting and ending with a letter or digit`);
  }
  return name;
}

/**
 * A new robot token's scopes as stored: each entry may hold several scopes separated by spaces; none means all the
 * user may do. Throws invalid-argument (SCOPE_INVALID) on a scope the token server could not read.
 */
export function robotTokenScopes(requested: readonly string[]): string[] {
  const scopes = requested.length ? requested.flatMap((s) => s.split(' ')).filter(Boolean) : everything;
  parseScopes(scopes, { namePatterns: true });
  return scopes;
}

/** A name the htpasswd file holds is changed there: the file wins over a store row of the same name (accounts.ts). */
export function htpasswdManaged(name: string): Fault {
  return new Fault('conflict', `${name.slice(0, 70)} is managed by the htpasswd file (auth.htpasswd): change it there`);
}
