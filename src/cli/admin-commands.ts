import type { Command } from 'commander';
import { type AdminContext, registerAuthCommands } from '../auth/cli.ts';
import { openMeta } from '../main/open-meta.ts';
import { registerAutobuildCommands } from './autobuild-command.ts';
import { addCommonOptions, addMetaOptions, type CommonFlags, configFromFlags, type MetaFlags } from './config-options.ts';
import { registerGcCommand } from './gc-command.ts';
import { registerQuotaCommands } from './quota-command.ts';
import { registerRetentionCommand } from './retention-command.ts';

/** Admin commands open the same root and metadata backend as `serve`, so they work while it runs. */
async function openAdminContext(flags: CommonFlags & MetaFlags): Promise<AdminContext> {
  const config = configFromFlags(flags);
  const stores = await openMeta(config);
  return { config, stores, close: () => stores.close() };
}

export function registerAdminCommands(program: Command): void {
  const addCommon = (command: Command) => addMetaOptions(addCommonOptions(command));
  registerAuthCommands(program, openAdminContext, addCommon);
  registerGcCommand(program, openAdminContext, addCommon);
  registerQuotaCommands(program, openAdminContext, addCommon);
  registerRetentionCommand(program, openAdminContext, addCommon);
  registerAutobuildCommands(program, openAdminContext, addCommon);
}
