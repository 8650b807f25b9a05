import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (for servers that must be told their port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `probe` until it resolves true, at most `timeoutMs`. A probe that throws counts as "not yet"; `gaveUp`
 * ends the wait early (the process being waited for has died).
 */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000, gaveUp?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    if (gaveUp?.()) throw new Error(`${what} gave up before becoming ready`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
