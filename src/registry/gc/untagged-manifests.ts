import type { GcChild, GcManifest } from '../../meta/gc-index.ts';

/**
 * distribution's `--delete-untagged`, online: the manifests of each repository that nothing keeps. Kept are the
 * tagged ones and those created at or after `createdBefore` (a push by digest before its tag or index lands),
 * then, to a fixpoint, the children of a kept index and the referrers of a kept subject (OCI: a referrer lives
 * while its subject does). Pure, so a dry run and the real run agree.
 */
export function untaggedManifests(manifests: readonly GcManifest[], children: readonly GcChild[], createdBefore: string): GcManifest[] {
  const key = (repository: string, digest: string) => `${repository}@${digest}`;
  const kept = new Set(manifests.filter((m) => m.tagged || m.createdAt >= createdBefore).map((m) => key(m.repository, m.digest)));
  const childrenOf = new Map<string, string[]>();
  for (const entry of children) {
    const parent = key(entry.repository, entry.parent);
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), key(entry.repository, entry.child)]);
  }
  const referrersOf = new Map<string, string[]>();
  for (const m of manifests) {
    if (!m.subject) continue;
    const subject = key(m.repository, m.subject);
    referrersOf.set(subject, [...(referrersOf.get(subject) ?? []), key(m.repository, m.digest)]);
  }
  const pending = [...kept];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    for (const held of [...(childrenOf.get(next) ?? []), ...(referrersOf.get(next) ?? [])]) {
      if (kept.has(held)) continue;
      kept.add(held);
      pending.push(held);
    }
  }
  return manifests.filter((m) => !kept.has(key(m.repository, m.digest)));
}
