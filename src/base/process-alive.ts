/** Whether a process with this id runs on this host: signal 0 only checks, and EPERM means it runs under another user. */
export function processAlive(pid: number): boolean {
  // 0 and negative ids name process groups, not one process.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
