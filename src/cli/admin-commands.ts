import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type AdminContext, registerAuthCommands } from '../auth/cli.ts';
import { openDatabase } from '../meta/sqlite-database.ts';
import { addCommonOptions, type CommonFlags, configFromFlags } from './config-options.ts';
import { registerGcCommand } from './gc-command.ts';
import { registerQuotaCommands } from './quota-command.ts';
import { registerRetentionCommand } from './retention-command.ts';

/** Admin commands open the same root and database as `serve`, so they work while it runs. */
function openAdminContext(flags: CommonFlags): AdminContext {
  const config = configFromFlags(flags);
  mkdirSync(config.root, { recursive: true, mode: 0o700 });
  const db = openDatabase(join(config.root, 'meta.db'));
  return { config, db, close: () => db.close() };
}

export function registerAdminCommands(program: Command): void {
  registerAuthCommands(program, openAdminContext, addCommonOptions);
  registerGcCommand(program, openAdminContext, addCommonOptions);
  registerQuotaCommands(program, openAdminContext, addCommonOptions);
  registerRetentionCommand(program, openAdminContext, addCommonOptions);
}
