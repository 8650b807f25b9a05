import type { Access } from '../../auth/authorizer.ts';
import type { V2Match } from '../../oci/distribution-routes.ts';

/**
 * The accesses a v2 request needs (pure): what the token spec's `scope` would ask for. A mount's `from` is not
 * among them: the handler asks about it separately and falls back to a plain upload when it is not readable.
 */
export function accessFor(match: V2Match, method: string): Access[] {
  const name = match.name ?? '';
  const repo = (actions: string[]): Access => ({ type: 'repository', name, actions });
  switch (match.route.name) {
    case 'base':
      return [];
    case 'catalog':
      return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
    case 'uploadStart':
    case 'upload':
      return [repo(['pull', 'push'])];
    default:
      if (method === 'DELETE') return [repo(['delete'])];
      if (method === 'PUT') return [repo(['pull', 'push'])];
      return [repo(['pull'])];
  }
}
