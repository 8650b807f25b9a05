/**
 * Runs `work` as one transaction over every store of one backend (metadata, users, v1, GC): their writes inside
 * commit together or not at all, e.g. a v1 push writing the registry's rows and the index's. `work` may only
 * call those stores (SQLite holds its one writer while it runs).
 */
export type MetaTransaction = <T>(work: () => Promise<T>) => Promise<T>;

/** For a caller given no backend transaction (tests over separate stores): runs the work as it is. */
export const withoutTransaction: MetaTransaction = (work) => work();
