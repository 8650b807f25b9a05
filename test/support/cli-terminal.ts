import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type IPty } from 'node-pty';
import { dockerCli } from './dockerd.ts';

/** The docker CLI in a real terminal (node-pty), as a user at a shell would run it. */
export class CliTerminal {
  output = '';
  readonly exit: Promise<number>;
  #pty: IPty;

  constructor(args: string[], env: NodeJS.ProcessEnv, size = { cols: 100, rows: 30 }) {
    this.#pty = spawn(dockerCli, args, { env: { ...env, TERM: 'xterm' } as Record<string, string>, cols: size.cols, rows: size.rows });
    this.#pty.onData((data) => (this.output += data));
    this.exit = new Promise((resolve) => this.#pty.onExit(({ exitCode }) => resolve(exitCode)));
  }

  /** Ends the CLI if a failed test left it running, so the file cannot hang on it. */
  kill(): void {
    try {
      this.#pty.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  write(text: string): void {
    this.#pty.write(text);
  }

  resize(cols: number, rows: number): void {
    this.#pty.resize(cols, rows);
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; got ${JSON.stringify(this.output)}`);
      await sleep(50);
    }
  }
}
