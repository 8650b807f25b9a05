import { Fault } from '../base/fault.ts';
import { isRepositoryName } from '../oci/reference.ts';
import { scopesAllow } from './acl.ts';
import type { Access } from './authorizer.ts';

const knownActions = new Set(['pull', 'push', 'delete', '*']);
const actionPattern = /^(?:[a-z][a-z0-9_-]{0,31}|\*)$/;
const maxScopeLength = 1024;
const maxScopes = 64;
// Robot-token scopes may name many repositories at once: globs over the name grammar's characters.
const namePatternChars = /^[a-z0-9._\-/*?]+$/;

export interface ScopeOptions {
  /** Robot-token scopes: repository names may be globs. */
  namePatterns?: boolean;
  /** Keep actions other than pull, push, delete and * (they must still look like an action). */
  anyAction?: boolean;
}

function invalid(scope: string, why: string): Fault {
  return new Fault('invalid-argument', `invalid scope "${scope.slice(0, 100)}": ${why}`, { code: 'SCOPE_INVALID' });
}

/**
 * Parses one token-spec scope, `repository:samalba/my-app:pull,push`. The type is before the first colon and the
 * actions after the last; a repository name must follow the distribution grammar (so `..` and the like never reach
 * a grant), and the catalog is `registry:catalog:*`. `repository(plugin):…` is read as `repository`.
 * `anyAction`: the token server's reading, where an action it does not know (dockerd's `registry:catalog:search`)
 * is kept for the ACL to leave out of the grant, as the token spec lets a server grant less than was asked.
 */
export function parseScope(scope: string, options: ScopeOptions = {}): Access {
  if (scope.length > maxScopeLength) throw invalid(scope, 'too long');
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) throw invalid(scope, 'want type:name:actions');
  const rawType = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope.slice(last + 1).split(',').filter(Boolean);
  if (!/^[a-z0-9]+(\([a-z0-9]+\))?$/.test(rawType)) throw invalid(scope, 'bad resource type');
  const known = options.anyAction ? (a: string) => actionPattern.test(a) : (a: string) => knownActions.has(a);
  if (actions.length === 0 || !actions.every(known)) throw invalid(scope, 'actions are pull, push, delete or *');
  const type = rawType.replace(/\(.*\)$/, '');
  if (type === 'repository' && !validName(name, options.namePatterns ?? false)) throw invalid(scope, 'bad repository name');
  if (type === 'registry' && name !== 'catalog') throw invalid(scope, 'the only registry resource is catalog');
  if (type !== 'repository' && type !== 'registry') throw invalid(scope, `unknown resource type ${type}`);
  return { type, name, actions: [...new Set(actions)] };
}

function validName(name: string, patterns: boolean): boolean {
  if (isRepositoryName(name)) return true;
  return patterns && name.length <= 255 && namePatternChars.test(name) && !name.startsWith('/') && !name.includes('//');
}

/** Scopes as clients send them: repeated `scope` parameters, each possibly space-separated. */
export function parseScopes(scopes: string[], options: ScopeOptions = {}): Access[] {
  const parts = scopes.flatMap((s) => s.split(' ')).filter(Boolean);
  if (parts.length > maxScopes) throw invalid(parts[0], `more than ${maxScopes} scopes`);
  return parts.map((s) => parseScope(s, options));
}

export function formatScope(access: Access): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

/** True when `granted` covers every action of every needed access. */
export function covers(granted: Access[], needs: Access[]): boolean {
  return needs.every((need) =>
    need.actions.every((action) =>
      granted.some((g) => g.type === need.type && g.name === need.name && (g.actions.includes(action) || g.actions.includes('*'))),
    ),
  );
}

/** A robot token's scopes cap what it can be granted (names may be globs: see acl.ts `scopesAllow`). */
export function restrict(granted: Access[], limit: readonly Access[] | undefined): Access[] {
  if (!limit) return granted;
  return granted.map((g) => ({ ...g, actions: g.actions.filter((a) => scopesAllow(limit, g, a)) }));
}
