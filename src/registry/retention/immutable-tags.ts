import { Fault } from '../../base/fault.ts';
import { compileRepositoryGlob, compileTagPattern } from './repository-glob.ts';

export interface ImmutableTagRule {
  repository: string;
  tag: string;
}

/** registry.immutableTags compiled once: which tags may never move to another manifest nor be deleted. */
export class ImmutableTags {
  readonly #rules: { repository: RegExp; tag: RegExp; source: ImmutableTagRule }[];

  constructor(rules: readonly ImmutableTagRule[]) {
    this.#rules = rules.map((source) => ({ repository: compileRepositoryGlob(source.repository), tag: compileTagPattern(source.tag), source }));
  }

  /** False when no rule is configured: callers then skip the lookups a check needs. */
  get active(): boolean {
    return this.#rules.length > 0;
  }

  /** The rule that makes the tag immutable, undefined when none does. */
  ruleFor(repository: string, tag: string): ImmutableTagRule | undefined {
    return this.#rules.find((rule) => rule.repository.test(repository) && rule.tag.test(tag))?.source;
  }

  /** Pointing the tag at `digest`: fine when it is new or already there, DENIED when it would move. */
  checkPut(repository: string, tag: string, current: string | undefined, digest: string): void {
    if (current === undefined || current === digest) return;
    const rule = this.ruleFor(repository, tag);
    if (rule) throw denied(`tag ${repository}:${tag} is immutable (rule ${describe(rule)}): it points at ${current}, it cannot be overwritten with ${digest}`);
  }

  /** Deleting tags (one by name, or every tag of a manifest deleted by digest): DENIED when one is immutable. */
  checkDelete(repository: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const rule = this.ruleFor(repository, tag);
      if (rule) throw denied(`tag ${repository}:${tag} is immutable (rule ${describe(rule)}): it cannot be deleted`);
    }
  }
}

function describe(rule: ImmutableTagRule): string {
  return `repository ${rule.repository}, tag ${rule.tag}`;
}

function denied(message: string): Fault {
  return new Fault('permission-denied', message, { code: 'DENIED' });
}
