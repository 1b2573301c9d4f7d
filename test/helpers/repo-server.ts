import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/** A fault to inject for one path: answer with this status, or this body instead of the file, or never answer. */
export interface Fault {
  status?: number;
  /** Headers of a `status` answer (e.g. Retry-After). */
  headers?: Record<string, string>;
  /** Send the file one byte every this many ms (a server dripping its answer). */
  dripMs?: number;
  body?: Buffer | string;
  hang?: boolean;
  /** Send the file's first N bytes and a Content-Length of the whole, then cut the connection. */
  cutAfter?: number;
  /** Apply to this many requests only, then serve normally (default: every request). */
  times?: number;
}

/** A static file server over a directory, for tests. */
export interface RepoServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** Paths requested, in order (`/dists/x/InRelease`). */
  requests: string[];
  /** Injects a fault for a URL path (`/dists/x/InRelease`). */
  /** When each request came (ms since the epoch), in the order of `requests`. */
  times: number[];
  fault(path: string, fault: Fault): void;
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1 at a free port; 404 for missing files. */
export async function serveDir(dir: string): Promise<RepoServer> {
  const requests: string[] = [];
  const times: number[] = [];
  const faults = new Map<string, Fault>();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    times.push(Date.now());
    const fault = faults.get(path);
    if (fault?.times !== undefined && --fault.times <= 0) faults.delete(path);
    if (fault?.hang === true) return;
    if (fault?.status !== undefined) {
      res.writeHead(fault.status, fault.headers).end();
      return;
    }
    if (fault?.body !== undefined) {
      res.writeHead(200, { 'content-length': Buffer.byteLength(fault.body) }).end(fault.body);
      return;
    }
    const file = join(dir, normalize(path).replace(/^(\.\.(\/|$))+/, ''));
    stat(file)
      .then(
        (s) => {
          if (!s.isFile()) throw new Error('not a file');
          res.writeHead(200, { 'content-length': s.size });
          if (fault?.dripMs !== undefined) {
            let sent = 0;
            const timer = setInterval(() => (sent < s.size ? res.write(Buffer.from([0x2d])) && sent++ : res.end()), fault.dripMs);
            res.on('close', () => clearInterval(timer));
            return;
          }
          if (fault?.cutAfter !== undefined) {
            createReadStream(file, { end: fault.cutAfter - 1 })
              .on('end', () => res.socket?.destroy())
              .pipe(res, { end: false });
            return;
          }
          createReadStream(file).pipe(res);
        },
        () => res.writeHead(404).end(),
      )
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    times,
    fault: (path, f) => faults.set(path, f),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
