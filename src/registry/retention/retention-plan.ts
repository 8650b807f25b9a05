import { parseGoDuration } from '../../base/go-parse.ts';
import type { GcChild, GcManifest } from '../../meta/gc-index.ts';
import type { TagRecord } from '../../meta/retention-index.ts';
import { untaggedManifests } from '../gc/untagged-manifests.ts';
import type { ImmutableTags } from './immutable-tags.ts';
import { compileRepositoryGlob, compileTagPattern } from './repository-glob.ts';

/** One entry of registry.retention. */
export interface RetentionRule {
  repository: string;
  keepLast?: number;
  keepTags?: string;
  untaggedOlderThan?: string;
}

/** An untagged manifest to delete, with the creation cutoff its rule set (the deletion re-checks it). */
export interface ExpiredManifest {
  manifest: GcManifest;
  createdBefore: string;
}

export interface RetentionPlan {
  tags: TagRecord[];
  manifests: ExpiredManifest[];
}

export interface RetentionState {
  tags: readonly TagRecord[];
  manifests: readonly GcManifest[];
  children: readonly GcChild[];
}

interface CompiledRule {
  repository: RegExp;
  keepLast?: number;
  keepTags?: RegExp;
  untaggedMs?: number;
}

/**
 * What the rules delete (pure: a dry run and the real run plan alike). Each repository follows the first rule
 * whose glob matches. Tags: all but the `keepLast` most recently pushed, except those matching `keepTags` and
 * immutable ones. Manifests: once those tags are gone, the ones no tag reaches created before now minus
 * `untaggedOlderThan`, except children of a kept index and referrers of a kept subject (gc's own reading).
 */
export function planRetention(rules: readonly RetentionRule[], immutable: ImmutableTags, state: RetentionState, now: Date): RetentionPlan {
  const compiled = rules.map(compileRule);
  const ruleOf = (repository: string) => compiled.find((rule) => rule.repository.test(repository));
  const tags = expiredTags(groupBy(state.tags, (t) => t.repository), ruleOf, immutable);
  const removed = new Set(tags.map((t) => `${t.repository}:${t.tag}`));
  const stillTagged = new Set(state.tags.filter((t) => !removed.has(`${t.repository}:${t.tag}`)).map((t) => `${t.repository}@${t.digest}`));
  const childrenOf = groupBy(state.children, (c) => c.repository);
  const manifests: ExpiredManifest[] = [];
  for (const [repository, rows] of groupBy(state.manifests, (m) => m.repository)) {
    const rule = ruleOf(repository);
    if (rule?.untaggedMs === undefined) continue;
    const createdBefore = new Date(now.getTime() - rule.untaggedMs).toISOString();
    const current = rows.map((m) => ({ ...m, tagged: stillTagged.has(`${repository}@${m.digest}`) }));
    for (const manifest of untaggedManifests(current, childrenOf.get(repository) ?? [], createdBefore)) manifests.push({ manifest, createdBefore });
  }
  return { tags, manifests };
}

function expiredTags(byRepository: Map<string, TagRecord[]>, ruleOf: (repository: string) => CompiledRule | undefined, immutable: ImmutableTags): TagRecord[] {
  const expired: TagRecord[] = [];
  for (const [repository, tags] of byRepository) {
    const rule = ruleOf(repository);
    if (rule?.keepLast === undefined) continue;
    const newestFirst = [...tags].sort((a, b) => (a.updatedAt === b.updatedAt ? (a.tag < b.tag ? -1 : 1) : a.updatedAt > b.updatedAt ? -1 : 1));
    for (const tag of newestFirst.slice(rule.keepLast)) {
      if (rule.keepTags?.test(tag.tag) || immutable.ruleFor(repository, tag.tag)) continue;
      expired.push(tag);
    }
  }
  return expired;
}

function compileRule(rule: RetentionRule): CompiledRule {
  const untaggedNs = rule.untaggedOlderThan === undefined ? undefined : parseGoDuration(rule.untaggedOlderThan);
  return {
    repository: compileRepositoryGlob(rule.repository),
    keepLast: rule.keepLast,
    keepTags: rule.keepTags === undefined ? undefined : compileTagPattern(rule.keepTags),
    untaggedMs: untaggedNs === undefined ? undefined : untaggedNs / 1e6,
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
