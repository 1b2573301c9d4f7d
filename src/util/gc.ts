import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

/**
 * Runs a full garbage collection now. Called when a large, short-lived data set (an arch's ~60k
 * index candidates) has just become garbage: V8 otherwise sizes the next heap from the peak and
 * lets the process grow to several times what it really holds.
 */
export function collectGarbage(): void {
  gc?.();
}
