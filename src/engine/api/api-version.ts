import { Fault } from '../../base/fault.ts';

/**
 * Docker CLI 29 refuses servers below 1.44, so that is what we advertise; older clients negotiate down and
 * may use any `/vX.Y/` prefix back to moby's floor.
 */
export const apiVersion = '1.44';
export const minApiVersion = '1.24';

export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

export function versionAtLeast(version: string, floor: string): boolean {
  return compareVersions(version, floor) >= 0;
}

/** Splits `/v1.41/containers/json` into the version and the route path; unversioned paths get the current version. */
export function splitVersion(path: string): { version: string; path: string } {
  const match = /^\/v(\d+\.\d+)(\/.*)?$/.exec(path);
  if (!match) return { version: apiVersion, path };
  const version = match[1];
  // moby: api/server/middleware/version.go
  if (compareVersions(version, apiVersion) > 0) {
    throw new Fault('invalid-argument', `client version ${version} is too new. Maximum supported API version is ${apiVersion}`);
  }
  if (compareVersions(version, minApiVersion) < 0) {
    throw new Fault(
      'invalid-argument',
      `client version ${version} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version`,
    );
  }
  return { version, path: match[2] ?? '/' };
}
