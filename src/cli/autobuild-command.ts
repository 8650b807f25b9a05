import type { Command } from 'commander';
import type { AdminContext } from '../auth/cli.ts';
import type { Config } from '../base/config.ts';
import { Builds, webhookUrl } from '../hub/builds/builds.ts';

type Flags = { config?: string; root?: string; metaUrl?: string };
type AddFlags = Flags & { git: string; ref?: string; dockerfile?: string; context?: string; tag?: string };

/**
 * `wharf autobuild add|list|rm|build`: automated builds from a git repository, in the root's metadata, which a
 * running `wharf serve` reads (its runner takes a build queued here within seconds).
 */
export function registerAutobuildCommands(
  program: Command,
  open: (flags: Flags) => Promise<AdminContext>,
  addCommon: (command: Command) => Command,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): void {
  const autobuild = program.command('autobuild').description('automated builds: a git branch built into a repository on every push');
  const withBuilds = async (flags: Flags, work: (builds: Builds, config: Config) => Promise<void>) => {
    const context = await open(flags);
    try {
      const { config } = context;
      await work(new Builds({ store: context.stores.builds, root: config.root, queuePerRepository: config.hub.builds.queuePerRepository }), config);
    } finally {
      await context.close();
    }
  };
  addCommon(autobuild.command('add <repository>').description('register a build; prints its webhook URL and secret (shown once)'))
    .requiredOption('--git <url>', 'the repository to clone (file://, http(s)://, git://, ssh://)')
    .option('--ref <branch>', 'the branch whose pushes build', 'main')
    .option('--dockerfile <path>', 'the Dockerfile, relative to the context', 'Dockerfile')
    .option('--context <dir>', 'the build context, a directory of the repository', '.')
    .option('--tag <tag>', 'the tag to push (the commit\'s short sha is pushed too)', 'latest')
    .action((repository: string, flags: AddFlags) =>
      withBuilds(flags, async (builds, config) => {
        const record = await builds.addAutobuild({ repository, git: flags.git, ref: flags.ref, dockerfile: flags.dockerfile, context: flags.context, tag: flags.tag });
        out(`autobuild ${record.id}: ${record.repository}:${record.tag} from ${record.git} ${record.ref}`);
        out(`webhook URL: ${webhookUrl(registryBase(config), record.id)}`);
        out(`webhook secret: ${record.secret}`);
        out('(the secret is not shown again; content type application/json, push events)');
        if (!config.registry.publicUrl) out('(set registry.publicUrl to the address your git server reaches this registry at)');
      }),
    );
  addCommon(autobuild.command('list').description('the registered builds')).action((flags: Flags) =>
    withBuilds(flags, async (builds) => {
      out('ID\tREPOSITORY\tTAG\tGIT\tREF\tCONTEXT\tDOCKERFILE');
      for (const a of await builds.store.listAutobuilds()) out(`${a.id}\t${a.repository}\t${a.tag}\t${a.git}\t${a.ref}\t${a.context}\t${a.dockerfile}`);
    }),
  );
  addCommon(autobuild.command('rm <id>').description('remove an autobuild, its builds and their logs')).action((id: string, flags: Flags) =>
    withBuilds(flags, async (builds) => {
      await builds.removeAutobuild(id);
      out(`autobuild ${id} removed`);
    }),
  );
  addCommon(autobuild.command('build <id>').description("queue a build of the branch's head")).action((id: string, flags: Flags) =>
    withBuilds(flags, async (builds) => {
      const build = await builds.queue(await builds.autobuild(id), 'cli');
      out(`build ${build.id} queued for ${build.repository}`);
    }),
  );
}

/** Where git servers reach the registry: registry.publicUrl, else its listen address. */
function registryBase(config: Config): string {
  return config.registry.publicUrl || `${config.registry.tls.cert ? 'https' : 'http'}://${config.registry.addr}`;
}
