/**
 * Failed-login counting by key (`account:NAME`, `ip:ADDR`): RateLimiter in memory (one process), or shared by
 * every replica on one database (PgRateLimiter), so N replicas behind a load balancer allow `limit` failures per
 * window in all, not N times that.
 */
export interface LoginLimiter {
  /** Seconds until `key` may try again, 0 when it may now. */
  retryAfter(key: string): number | Promise<number>;
  fail(key: string): void | Promise<void>;
  succeed(key: string): void | Promise<void>;
}
