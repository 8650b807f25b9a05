import type { ChildProcess } from 'node:child_process';

/**
 * When `signal` aborts, SIGKILLs the whole process group of `child` (spawned `detached`, so it leads a group of its
 * own): its helpers (git's remote-http, index-pack, ssh) end with it instead of holding its pipes open. The
 * listener goes when the child closes.
 */
export function killGroupOnAbort(child: ChildProcess, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is gone already: nothing left to stop.
    }
  };
  signal.addEventListener('abort', kill, { once: true });
  child.once('close', () => signal.removeEventListener('abort', kill));
}
