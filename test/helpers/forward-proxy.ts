import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';

/** One request the proxy saw. */
export interface ProxiedRequest {
  /** `CONNECT` for a tunnel, else the forwarded method. */
  method: string;
  /** `host:port` for CONNECT, the absolute URL for a forwarded request. */
  target: string;
  /** The Proxy-Authorization header as received, if any. */
  authorization?: string;
}

/** A forwarding HTTP proxy on 127.0.0.1. */
export interface ForwardProxy {
  /** `http://127.0.0.1:PORT` (no credentials). */
  url: string;
  /** `http://USER:PASSWORD@127.0.0.1:PORT` when credentials are required, else url. */
  urlWithCredentials: string;
  /** Every request, in order (tunnels once per connection). */
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a recording forward proxy, as squid or a corporate proxy behaves: `CONNECT host:port`
 * opens a tunnel (any port), a request with an absolute URL is forwarded. With `credentials`, a
 * request without the matching `Proxy-Authorization: Basic` gets 407.
 */
export async function startForwardProxy(
  credentials?: { username: string; password: string },
  options: {
    /** CONNECT targets (`host:port`) answered 502 at once, as a proxy that cannot reach them (no DNS wait). */ unreachable?: (
      authority: string,
    ) => boolean;
  } = {},
): Promise<ForwardProxy> {
  const requests: ProxiedRequest[] = [];
  const expected =
    credentials === undefined ? undefined : `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const sockets = new Set<Socket>();
  const record = (req: IncomingMessage): boolean => {
    const authorization = req.headers['proxy-authorization'];
    requests.push({ method: req.method ?? '', target: req.url ?? '', ...(authorization === undefined ? {} : { authorization }) });
    return expected === undefined || authorization === expected;
  };
  const server: Server = createServer((req, res) => {
    if (!record(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('not an absolute URL');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      { host: target.hostname, port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (!record(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (options.unreachable?.(req.url ?? '') === true) {
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = splitAuthority(req.url ?? '');
    const upstream = netConnect({ host, port }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => (sockets.delete(upstream), client.destroy()));
    upstream.on('error', () => client.destroy());
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    urlWithCredentials:
      credentials === undefined
        ? url
        : `http://${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function splitAuthority(authority: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  return m === null ? [authority, 443] : [m[1] ?? authority, Number(m[2])];
}
