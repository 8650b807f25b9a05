import { Fault } from '../../base/fault.ts';
import type { Route } from './router.ts';

/**
 * Docker Engine API calls this engine does not serve yet, answered with a 501 that names what is missing instead
 * of the router's "page not found" (which the CLI would print as if the daemon were broken).
 */
const unsupported: [method: Route['method'], path: string, what: string][] = [];

export function unsupportedRoutes(): Route[] {
  return unsupported.map(([method, path, what]) => ({
    name: `unsupported ${method} ${path}`,
    method,
    path,
    handle: async () => {
      throw new Fault('not-implemented', `${what}: not supported by this engine yet`);
    },
  }));
}
