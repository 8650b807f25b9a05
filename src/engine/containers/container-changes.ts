import type { Change } from '../snapshots/layer-diff.ts';

/**
 * moby diffs a container's writable layer against an "init layer" (daemon/initlayer/setup_unix.go) that already
 * holds the mount points every container gets, so `docker diff` never shows them. Our rootfs has no such layer:
 * runc creates the mount points in the writable layer, and this takes them back out of the listing.
 */
// Mounted over in every container (bundle.ts): nothing written there reaches the layer but the mount point itself.
const mountTargets = ['/dev', '/proc', '/sys', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname'];
// In moby's init layer but not mounted over: changing them shows against the init layer's copy.
const initFiles = ['/.dockerenv', '/etc/mtab'];

function underMount(path: string): boolean {
  return mountTargets.some((target) => path === target || path.startsWith(`${target}/`));
}

/** A directory the init layer has because a mount point or init file lies below it (`/etc`). */
function initAncestor(path: string): boolean {
  return [...mountTargets, ...initFiles].some((p) => p.startsWith(`${path}/`));
}

/** The changes `docker diff` shows, as moby computes them against image + init layer. */
export function visibleChanges(changes: readonly Change[]): Change[] {
  const kept = changes.filter((c) => !underMount(c.path));
  const below = (list: readonly Change[], dir: string) => list.some((d) => d.path.startsWith(`${dir}/`));
  // A directory copied up only because runc made a mount point in it goes with that mount point; one changed
  // itself (its own mode or owner, or no entries below it) or holding other changes stays.
  return kept
    .filter((c) => !initAncestor(c.path) || c.ownChange || below(kept, c.path) || !below(changes, c.path))
    .map((c) => ((initAncestor(c.path) || initFiles.includes(c.path)) && c.kind === 'added' ? { ...c, kind: 'modified' } : c));
}

/**
 * The paths of `changes` a commit leaves out of the layer, as moby's never reach it (they live in the init layer):
 * the runtime's mount points and anything under them, and a directory copied up only to hold one. A change the
 * container made there itself (writing /etc/hosts through its bind mount) is lost, as in moby.
 */
export function runtimeOnlyPaths(changes: readonly Change[]): Set<string> {
  const visible = new Set(visibleChanges(changes).map((c) => c.path));
  return new Set(changes.filter((c) => !visible.has(c.path)).map((c) => c.path));
}
