/*
 * The host tools wharf's networking goes through: iproute2 for links, addresses and routes, iptables-restore for
 * the firewall. Each call is one process fed on stdin (never a shell), so a whole change is one spawn: the start
 * path of a container has a budget of a few of them.
 */
import { spawn } from 'node:child_process';
import { Fault } from '../../base/fault.ts';

/** A host tool exited non-zero; `stderr` is what it said, for callers that tolerate some failures. */
export class HostCommandError extends Fault {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stderr: string;

  constructor(argv: readonly string[], exitCode: number, stderr: string, cause?: unknown) {
    super('unavailable', `${argv.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || 'no output'}`, { cause });
    this.name = 'HostCommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs `argv` with `input` on stdin; resolves its stdout, rejects with a HostCommandError. */
export function runHostCommand(argv: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    // A tool that exits before reading its stdin makes the write fail with EPIPE; its exit status says why.
    child.stdin.on('error', () => undefined);
    child.once('error', (cause) => reject(new HostCommandError(argv, -1, String(cause), cause)));
    child.once('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new HostCommandError(argv, code ?? -1, signal ? `killed by ${signal}. ${stderr}` : stderr));
    });
    child.stdin.end(input);
  });
}

/** `ip -batch -` (inside the named network namespace with `netns`): the lines are ip commands without `ip`. */
export async function ipBatch(lines: readonly string[], options: { netns?: string } = {}): Promise<void> {
  if (lines.length === 0) return;
  const argv = options.netns === undefined ? ['ip', '-batch', '-'] : ['ip', '-n', options.netns, '-batch', '-'];
  await runHostCommand(argv, lines.map((line) => `${line}\n`).join(''));
}

/** The iptables tables wharf writes to. */
export type FirewallTable = 'raw' | 'nat' | 'filter';

/** One firewall change, applied atomically; tables not named are left alone. */
export type FirewallBatch = Partial<Record<FirewallTable, readonly string[]>>;

/**
 * `iptables-restore -w --noflush`: the lines are iptables-save lines (`:CHAIN - [0:0]` declares a chain and
 * flushes it if it exists; `-A`, `-I`, `-D`, `-X`). The batch fails as a whole when one line does.
 */
export async function iptablesRestore(batch: FirewallBatch): Promise<void> {
  const text = Object.entries(batch)
    .filter(([, lines]) => lines.length > 0)
    .map(([table, lines]) => `*${table}\n${lines.map((line: string) => `${line}\n`).join('')}COMMIT\n`)
    .join('');
  if (text) await runHostCommand(['iptables-restore', '-w', '--noflush'], text);
}

/** Every chain and rule of `table` as `iptables -S` prints them (`-N CHAIN`, `-A CHAIN …`). */
export async function iptablesRules(table: FirewallTable): Promise<string[]> {
  const text = await runHostCommand(['iptables', '-w', '-t', table, '-S']);
  return text.split('\n').filter((line) => line !== '');
}

/** True when iptables refused a line because the rule or chain it names does not exist. */
export function isMissingRule(err: unknown): boolean {
  return err instanceof HostCommandError && /does a matching rule exist|No chain\/target\/match|does not exist/.test(err.stderr);
}

/** True when ip refused because the device, address or namespace is already gone. */
export function isMissingDevice(err: unknown): boolean {
  return err instanceof HostCommandError && /Cannot find device|No such file or directory|does not exist/.test(err.stderr);
}
