import { Command } from 'commander';
import { startWharf, type WharfPart } from '../main/start-wharf.ts';
import { startSupervisor } from '../main/supervisor.ts';
import { registerAdminCommands } from './admin-commands.ts';
import { addMetaOptions, addProxyOptions, addServeOptions, configFromFlags, type ServeFlags } from './config-options.ts';

export function buildProgram(): Command {
  const program = new Command('wharf')
    .description('registry, auth, legacy index and engine: Docker build-ship-run in one command')
    .showHelpAfterError();

  addProxyOptions(addMetaOptions(addServeOptions(program.command('serve').description('run every enabled part (registry, engine), each in its own supervised process')))).action(
    (flags: ServeFlags) => serve(flags),
  );

  const registry = program.command('registry').description('the image registry');
  addProxyOptions(addMetaOptions(addServeOptions(registry.command('serve').description('run the registry alone')))).action((flags: ServeFlags) =>
    serve(flags, ['registry']),
  );

  const engine = program.command('engine').description('the container engine');
  addServeOptions(engine.command('serve').description('run the engine alone (Docker Engine API on a unix socket)')).action((flags: ServeFlags) => serve(flags, ['engine']));

  const auth = program.command('auth').description('the token server');
  addMetaOptions(addServeOptions(auth.command('serve').description('run the token server alone (registries on the same root trust its keys)'))).action(
    (flags: ServeFlags) => serve({ ...flags, addr: undefined, tokenAddr: flags.addr }, ['token']),
  );

  registerAdminCommands(program);
  return program;
}

/** `wharf serve` supervises a process per part; `wharf <part> serve` runs that part in this process. */
async function serve(flags: ServeFlags, parts?: WharfPart[]): Promise<void> {
  const config = configFromFlags(flags);
  const running = parts ? await startWharf(config, { parts }) : await startSupervisor(config);
  const stop = async (signal: string) => {
    process.stderr.write(`wharf: ${signal}, shutting down\n`);
    await running.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`wharf: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
