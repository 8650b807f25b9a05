import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';

/**
 * Auth mode none checks no credentials, so users and tokens made then would do nothing now and take effect unseen
 * the day the mode changes: their writes are refused (409), reads stay, to see what is on record.
 */
export function refuseWithoutAccounts(config: Config): void {
  if (config.auth.mode === 'none') {
    throw new Fault('conflict', 'auth mode none has no accounts: set auth.mode to htpasswd or token to manage users and tokens');
  }
}
