import type { Command } from 'commander';
import type { AdminContext } from '../auth/cli.ts';
import { applyRetention } from '../registry/retention/apply-retention.ts';
import { ImmutableTags } from '../registry/retention/immutable-tags.ts';

type Flags = { config?: string; root?: string; dryRun?: boolean };

/**
 * `wharf retention`: applies registry.retention to a root a running `wharf serve` may be using. Prints each tag
 * and manifest it deletes (with --dry-run: would delete; the same lines), then a summary; `wharf gc` frees the
 * blobs afterwards.
 */
export function registerRetentionCommand(
  program: Command,
  open: (flags: Flags) => Promise<AdminContext>,
  addCommon: (command: Command) => Command,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): void {
  addCommon(program.command('retention').description('delete tags and untagged manifests as registry.retention says (blobs go at the next gc)'))
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .action(async (flags: Flags) => {
      const context = await open(flags);
      try {
        const { registry } = context.config;
        const result = await applyRetention(
          {
            rules: registry.retention,
            immutable: new ImmutableTags(registry.immutableTags),
            tags: context.stores.retention,
            gc: context.stores.gc,
            now: new Date(),
          },
          {
            dryRun: flags.dryRun ?? false,
            onTag: (t) => out(`tag ${t.repository}:${t.tag} ${t.digest}`),
            onManifest: (m) => out(`manifest ${m.repository}@${m.digest}`),
          },
        );
        out(`${flags.dryRun ? 'would delete' : 'deleted'} ${result.tags} tags, ${result.manifests} untagged manifests`);
      } finally {
        await context.close();
      }
    });
}
