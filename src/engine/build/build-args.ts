/** Proxy variables moby lets a build use without an ARG (and keeps out of the history when unreferenced). */
const builtinArgs = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy']);

/**
 * moby's BuildArgs (builder/dockerfile/buildargs.go): the `--build-arg` values, the ARGs a stage declared
 * (`allowed`, undefined for `ARG NAME` without default), the ARGs before the first FROM (`meta`) and every name
 * some ARG referenced, for the warning about unused ones. `automatic` holds the platform args BuildKit predefines
 * (TARGETOS, BUILDPLATFORM…): FROM sees them, a stage gets one by declaring it without a default.
 */
export class BuildArgs {
  readonly #fromOptions: ReadonlyMap<string, string | null>;
  readonly #automatic: ReadonlyMap<string, string>;
  #allowed = new Map<string, string | undefined>();
  #meta = new Map<string, string | undefined>();
  #referenced = new Set<string>();

  constructor(fromOptions: Record<string, string | null>, automatic: ReadonlyMap<string, string>) {
    this.#fromOptions = new Map(Object.entries(fromOptions));
    this.#automatic = automatic;
  }

  /** A stage's copy: the meta args and references carry over, the stage's own ARGs start empty. */
  forStage(): BuildArgs {
    const copy = new BuildArgs(Object.fromEntries(this.#fromOptions), this.#automatic);
    copy.#meta = new Map(this.#meta);
    copy.#referenced = new Set(this.#referenced);
    return copy;
  }

  mergeReferenced(other: BuildArgs): void {
    for (const name of other.#referenced) this.#referenced.add(name);
  }

  addArg(name: string, value: string | undefined): void {
    this.#allowed.set(name, value);
    this.#referenced.add(name);
  }

  addMetaArg(name: string, value: string | undefined): void {
    this.#meta.set(name, value);
  }

  /** The stage's ARGs with a value, proxies included when given. */
  allowed(): Map<string, string> {
    return this.#values(this.#allowed);
  }

  /** What FROM lines expand with: the meta args and the automatic platform args. */
  meta(): Map<string, string> {
    const out = new Map(this.#automatic);
    for (const [name, value] of this.#values(this.#meta)) out.set(name, value);
    return out;
  }

  /** `NAME=value` for each allowed arg the environment does not set (ENV wins over ARG). */
  filterAllowed(env: readonly string[]): string[] {
    const set = new Set(env.map((e) => e.split('=', 1)[0]));
    return [...this.allowed()].filter(([name]) => !set.has(name)).map(([name, value]) => `${name}=${value}`);
  }

  /** Proxy args stay out of RUN's history line unless the Dockerfile declared them. */
  isReferencedOrNotBuiltin(name: string): boolean {
    return this.#allowed.has(name) || !builtinArgs.has(name);
  }

  /** moby's "[Warning] One or more build-args [a b] were not consumed", or undefined. */
  unusedWarning(): string | undefined {
    const left = [...this.#fromOptions.keys()].filter((name) => !builtinArgs.has(name) && !this.#referenced.has(name));
    return left.length ? `[Warning] One or more build-args [${left.join(' ')}] were not consumed\n` : undefined;
  }

  #values(source: ReadonlyMap<string, string | undefined>): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of new Set([...source.keys(), ...builtinArgs])) {
      const value = this.#lookup(name, source);
      if (value !== undefined) out.set(name, value);
    }
    return out;
  }

  #lookup(name: string, source: ReadonlyMap<string, string | undefined>): string | undefined {
    const given = this.#fromOptions.get(name);
    if (given !== undefined && given !== null) return given;
    const declared = source.get(name);
    if (declared !== undefined) return declared;
    return this.#meta.get(name) ?? (source.has(name) ? this.#automatic.get(name) : undefined);
  }
}
