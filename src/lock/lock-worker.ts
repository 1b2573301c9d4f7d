import { parentPort, workerData } from 'node:worker_threads';
import { AlbaError, type ErrorCode } from '../errors.js';
import { resolveArch, type ArchJob, type ArchResult } from './lock-arch.js';

/** A resolver thread's answer: the arch's result, or its failure as plain data. */
export type WorkerReply =
  | { ok: true; result: ArchResult }
  | { ok: false; code?: ErrorCode; message: string; hint?: string; stack?: string };

function failure(err: unknown): WorkerReply {
  if (err instanceof AlbaError) return { ok: false, code: err.code, message: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) };
  const e = err instanceof Error ? err : new Error(String(err));
  return { ok: false, message: e.message, ...(e.stack === undefined ? {} : { stack: e.stack }) };
}

try {
  parentPort?.postMessage({ ok: true, result: await resolveArch(workerData as ArchJob) } satisfies WorkerReply);
} catch (err) {
  parentPort?.postMessage(failure(err));
}
