import { isFault } from '../../src/base/fault.ts';

/** The code of the Fault `promise` rejects with; undefined when it resolves. */
export async function faultCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return isFault(err) ? err.code : `not a fault: ${String(err)}`;
  }
  return undefined;
}
