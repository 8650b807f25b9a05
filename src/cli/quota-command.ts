import type { Command } from 'commander';
import type { AdminContext } from '../auth/cli.ts';
import type { MetadataStore } from '../meta/metadata-store.ts';
import { validateRepositoryName } from '../oci/reference.ts';
import { parseSize } from '../registry/quota/parse-size.ts';

type Flags = { config?: string; root?: string };

/**
 * `wharf quota set|list|rm`: quotas per namespace (the first component of repository names) in the root's
 * meta.db, which a running `wharf serve` reads on every push.
 */
export function registerQuotaCommands(
  program: Command,
  open: (flags: Flags) => Promise<AdminContext>,
  addCommon: (command: Command) => Command,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): void {
  const quota = program.command('quota').description('storage quotas per namespace (unique blob bytes of its repositories)');
  const withStore = async (flags: Flags, work: (meta: MetadataStore) => Promise<void>) => {
    const context = await open(flags);
    try {
      await work(context.stores.meta);
    } finally {
      await context.close();
    }
  };
  addCommon(quota.command('set <namespace> <size>').description('set the quota: 1MB, 10GiB, 500k (decimal units; KiB, MiB, GiB: binary)')).action(
    (namespace: string, size: string, flags: Flags) =>
      withStore(flags, async (meta) => {
        const limit = parseSize(size);
        await meta.setQuota(checkNamespace(namespace), limit);
        out(`${namespace}: quota ${limit} bytes, uses ${await meta.namespaceUsage(namespace)}`);
      }),
  );
  addCommon(quota.command('list').description('quotas and usage in bytes')).action((flags: Flags) =>
    withStore(flags, async (meta) => {
      out('NAMESPACE\tUSED\tLIMIT');
      for (const q of await meta.listQuotas()) out(`${q.namespace}\t${q.used}\t${q.limit}`);
    }),
  );
  addCommon(quota.command('rm <namespace>').description('remove the quota')).action((namespace: string, flags: Flags) =>
    withStore(flags, async (meta) => {
      if (!(await meta.deleteQuota(namespace))) throw new Error(`namespace ${namespace} has no quota`);
      out(`${namespace}: quota removed`);
    }),
  );
}

/** A namespace is one component of a repository name. */
function checkNamespace(namespace: string): string {
  if (namespace.includes('/')) throw new Error(`namespace ${namespace}: a namespace is the first component of a repository name, without '/'`);
  return validateRepositoryName(namespace);
}
