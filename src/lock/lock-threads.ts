import { Worker } from 'node:worker_threads';
import { AlbaError } from '../errors.js';
import type { ArchJob, ArchResult } from './lock-arch.js';
import type { WorkerReply } from './lock-worker.js';

/**
 * Resolves one arch in a worker thread (lock-worker.ts): two archs parse their indexes on two
 * cores at once, and each arch's ~60k candidates live in a heap that is dropped whole when its
 * thread ends. Errors come back as the same AlbaErrors.
 */
export function resolveArchInThread(job: ArchJob): Promise<ArchResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./lock-worker.js', import.meta.url), { workerData: job });
    let settled = false;
    worker.once('message', (reply: WorkerReply) => {
      settled = true;
      if (reply.ok) resolve(reply.result);
      else if (reply.code !== undefined) reject(new AlbaError(reply.code, reply.message, reply.hint === undefined ? {} : { hint: reply.hint }));
      else reject(Object.assign(new Error(reply.message), reply.stack === undefined ? {} : { stack: reply.stack }));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the resolver thread for ${job.arch} exited with code ${code} before answering`));
    });
  });
}
