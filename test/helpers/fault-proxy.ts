import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the proxy saw. */
export interface SeenRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** The request's `Authorization` header, when it had one. */
  authorization?: string;
  /** When it arrived (Date.now()). */
  at: number;
  /** The request's `If-None-Match` header, when it had one. */
  ifNoneMatch?: string;
  /** The status the server answered, once it has (a forwarded request only). */
  status?: number;
}

/** A request deleting from an S3 bucket: a `DELETE` of one key, or a `DeleteObjects` (`POST ?delete`) of many. */
export function isS3Delete(r: SeenRequest): boolean {
  return r.method === 'DELETE' || (r.method === 'POST' && /[?&]delete\b/.test(r.path));
}

/** What to do with one request instead of forwarding it. */
export type Fault =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Read part of the request body, then drop the connection. */
  | 'reset'
  /** Wait this long, then forward. */
  | { stallMs: number }
  /** Wait until this settles, then forward. */
  | { hold: Promise<unknown> }
  /** Answer with what this computes (e.g. another server's behaviour, emulated with requests to the target). */
  | { answer: () => Promise<{ status: number; headers?: Record<string, string>; body?: string }> };

/** A recording, fault-injecting HTTP proxy in front of one server. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** `127.0.0.1:<port>`. */
  host: string;
  /** Every request, in arrival order. */
  requests: SeenRequest[];
  /** Decides a fault for each request (`n` counts requests from 0); undefined forwards it. */
  fault: (req: SeenRequest, n: number) => Fault | undefined;
  /** Headers added to (or replacing those of) each forwarded request, e.g. the credentials a storage backend would check itself. */
  addHeaders: (req: SeenRequest) => Record<string, string>;
  /** May change the headers of each forwarded answer (e.g. rewrite a `Location` to another origin). */
  rewrite: (req: SeenRequest, status: number, headers: IncomingHttpHeaders) => void;
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 that forwards everything to `target` (keeping the Host header, so
 * a registry's absolute upload Locations point back at the proxy) unless `fault` says otherwise.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const timers = new Set<NodeJS.Timeout>();
  const proxy: FaultProxy = {
    url: '',
    host: '',
    requests: [],
    fault: () => undefined,
    addHeaders: () => ({}),
    rewrite: () => undefined,
    close: async () => undefined,
  };
  const forward = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest): void => {
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...proxy.addHeaders(seen) },
      },
      (answer) => {
        seen.status = answer.statusCode ?? 502;
        proxy.rewrite(seen, answer.statusCode ?? 502, answer.headers);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      at: Date.now(),
      ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
      ...(req.headers['if-none-match'] === undefined ? {} : { ifNoneMatch: req.headers['if-none-match'] }),
    };
    const n = proxy.requests.length;
    proxy.requests.push(seen);
    const fault = proxy.fault(seen, n);
    if (fault === undefined) return forward(req, res, seen);
    if (fault === 'reset') {
      let got = 0;
      req.on('data', (c: Buffer) => {
        got += c.length;
        if (got > 1024) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    if ('hold' in fault) {
      void fault.hold.finally(() => forward(req, res, seen));
      return;
    }
    if ('stallMs' in fault) {
      const timer = setTimeout(() => forward(req, res, seen), fault.stallMs);
      timers.add(timer);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    req.resume();
    if ('answer' in fault) {
      req.on('end', () => {
        fault.answer().then(
          (a) => res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? ''),
          () => res.destroy(),
        );
      });
      return;
    }
    req.on('end', () => {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected by the test proxy' }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // a proxy a failed test left open does not keep its test file from ending
  server.unref();
  const port = (server.address() as AddressInfo).port;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.host = `127.0.0.1:${port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/**
 * Sets `proxy.fault` to hold the first request `held` matches until a request `until` matches
 * arrives, or `ms` pass: the promise says which ('released' or 'timed out'), or stays pending
 * while no request was held. A test of two requests sent at once: only then is the first released.
 */
export function holdUntil(
  proxy: FaultProxy,
  held: (req: SeenRequest) => boolean,
  until: (req: SeenRequest) => boolean,
  ms = 5000,
): Promise<'released' | 'timed out'> {
  let release: () => void = () => undefined;
  const arrived = new Promise<'released'>((resolve) => (release = () => resolve('released')));
  const timedOut = (): Promise<'timed out'> => new Promise((resolve) => setTimeout(() => resolve('timed out'), ms).unref());
  let holding = false;
  return new Promise((settle) => {
    proxy.fault = (req) => {
      if (until(req)) release();
      if (holding || !held(req)) return undefined;
      holding = true;
      const hold = Promise.race([arrived, timedOut()]);
      void hold.then(settle);
      return { hold };
    };
  });
}
