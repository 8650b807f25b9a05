import { Fault } from '../../base/fault.ts';

/**
 * Docker CLI 29 refuses servers below 1.44, so that is what we advertise; older clients negotiate down and
 * may use any `/vX.Y/` prefix back to moby's floor.
 */
export const apiVersion = '1.44';
export const minApiVersion = '1.24';

/** moby api/types/versions compare: dot-separated numbers, a missing or non-numeric part counting as 0. */
export function compareVersions(a: string, b: string): number {
  const as = a.split('.');
  const bs = b.split('.');
  // strconv.Atoi with its error ignored: anything but an integer is 0.
  const part = (text: string | undefined) => (/^[+-]?\d+$/.test(text ?? '') ? Number(text) : 0);
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const diff = part(as[i]) - part(bs[i]);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

export function versionAtLeast(version: string, floor: string): boolean {
  return compareVersions(version, floor) >= 0;
}

/** Splits `/v1.41/containers/json` into the version and the route path; unversioned paths get the current version. */
export function splitVersion(path: string): { version: string; path: string } {
  // moby api/server/server.go versionMatcher `/v{version:[0-9.]+}`: `/v1/…` is a (too old) version too.
  const match = /^\/v([0-9.]+)(\/.*)?$/.exec(path);
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
