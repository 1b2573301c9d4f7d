/**
 * The proxy of the environment, as curl, apt and Go read it: `https_proxy`/`HTTPS_PROXY` for https
 * URLs, `http_proxy`/`HTTP_PROXY` for http URLs (lowercase first; no fallback from one scheme to
 * the other), except for the hosts `no_proxy`/`NO_PROXY` names (`*`; `host`, which covers its
 * subdomains; `.domain` or `*.domain`; `host:port`; an IP address). Loopback addresses are proxied
 * like any other unless NO_PROXY names them, as curl does.
 *
 * Used by every HTTP client of alba: request.ts (registries, through undici's ProxyAgent), node-get.ts
 * (Debian mirrors: http as a plain forward, https through a CONNECT tunnel) and the S3 store (the
 * AWS SDK's handler, through tunnelAgent). A proxy's credentials go in Proxy-Authorization to the
 * proxy only and are never printed: `shown` is the proxy without them.
 */
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { AlbaError, redactUrl } from '../errors.js';
import { HTTP_DEFAULTS, idleMsFromEnvironment } from './limits.js';
import { decodedUserInfo } from './urls.js';

/** The proxy to use for one URL. */
export interface Proxy {
  /** `http://HOST:PORT`, without credentials. */
  origin: string;
  host: string;
  port: number;
  /** The `Proxy-Authorization` header, when the proxy URL holds credentials. */
  authorization?: string;
  /** The proxy URL as given (with its credentials): for undici's ProxyAgent only, never for messages. */
  uri: string;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };
/** The longest CONNECT answer head read before giving up. */
const MAX_CONNECT_HEAD = 16 * 1024;

/** The proxy for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): Proxy | undefined {
  const pick = (...names: string[]): string | undefined => names.map((n) => env[n]).find((v) => v !== undefined && v.trim() !== '');
  const raw =
    url.protocol === 'https:'
      ? pick('https_proxy', 'HTTPS_PROXY')
      : url.protocol === 'http:'
        ? pick('http_proxy', 'HTTP_PROXY')
        : undefined;
  if (raw === undefined) return undefined;
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  if (bypassed(url.hostname.replace(/^\[|\]$/g, '').toLowerCase(), port, pick('no_proxy', 'NO_PROXY') ?? '')) return undefined;
  return parseProxy(raw.trim());
}

/** `http://[user:password@]host[:port]` (the scheme may be left out). Other schemes are USAGE. */
export function parseProxy(text: string): Proxy {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  const shown = redactUrl(withScheme);
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AlbaError('USAGE', `the proxy ${shown} is not a URL`, {
      hint: 'set HTTPS_PROXY/HTTP_PROXY to http://[USER:PASSWORD@]HOST:PORT',
    });
  }
  if (url.protocol !== 'http:')
    throw new AlbaError('USAGE', `the proxy ${shown}: only http:// proxies are supported`, {
      hint: 'set HTTPS_PROXY/HTTP_PROXY to http://HOST:PORT (the tunnel to an https server is still TLS end to end)',
    });
  const port = Number(url.port) || 80;
  const [user, password] = decodedUserInfo(
    url,
    () =>
      new AlbaError('USAGE', `the proxy ${shown}: its user or password holds a % that is not an escape`, {
        hint: 'write a % in the user name or password of HTTPS_PROXY/HTTP_PROXY as %25',
      }),
  );
  return {
    origin: `http://${url.host}`,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(user === '' && password === '' ? {} : { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }),
    uri: withScheme,
  };
}

/** True when NO_PROXY names `host` (lowercase, no brackets) on `port`. */
export function bypassed(host: string, port: number, noProxy: string): boolean {
  for (const entry of noProxy
    .toLowerCase()
    .split(/[,\s]+/)
    .filter((e) => e !== '')) {
    if (entry === '*') return true;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const withPort = bracketed === null && isIP(entry) !== 6 ? /^(.*):(\d+)$/.exec(entry) : null;
    const name = (bracketed?.[1] ?? withPort?.[1] ?? entry).replace(/^\*/, '');
    const entryPort = bracketed?.[2] ?? withPort?.[2];
    if (entryPort !== undefined && Number(entryPort) !== port) continue;
    if (name.startsWith('.') ? host.endsWith(name) || host === name.slice(1) : host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/**
 * Opens a CONNECT tunnel through `proxy` to `host:port`: the raw socket once the proxy answered
 * 2xx; a refusal (407 without valid credentials, 403…), a proxy that closes the connection or
 * stays silent for the idle timeout before answering, is a NETWORK-like error naming the proxy
 * without its credentials.
 */
export function openTunnel(proxy: Proxy, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: proxy.host, port: proxy.port });
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const idleMs = idleMsFromEnvironment() ?? HTTP_DEFAULTS.idleMs;
    let head = Buffer.alloc(0);
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`proxy ${proxy.origin}: ${message}`));
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_CONNECT_HEAD) fail('its answer to CONNECT is too long');
        return;
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (status === undefined || !status.startsWith('2'))
        return fail(
          `CONNECT ${authority} answered ${status ?? 'something that is not HTTP'}${status === '407' ? ' (proxy authentication required: put USER:PASSWORD@ in the proxy URL)' : ''}`,
        );
      settled = true;
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.setTimeout(0);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onError = (err: Error): void => fail(err.message);
    const onClose = (): void => fail(`it closed the connection before answering CONNECT ${authority}`);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.setTimeout(idleMs, () => fail(`no answer to CONNECT ${authority} for ${idleMs / 1000} s`));
    socket.on('connect', () =>
      socket.write(
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${proxy.authorization === undefined ? '' : `Proxy-Authorization: ${proxy.authorization}\r\n`}\r\n`,
      ),
    );
  });
}

type Callback = (err: Error | null, stream: Duplex) => void;
type Target = { host?: string | null; hostname?: string | null; port?: number | string | null };

/** A node:http(s) Agent whose connections are CONNECT tunnels through `proxy` (TLS inside the tunnel for https). */
export function tunnelAgent(proxy: Proxy, secure: boolean, options: AgentOptions & ConnectionOptions = {}): HttpAgent {
  const create = (target: Target, tls: ConnectionOptions | undefined, cb: Callback = () => undefined): void => {
    const host = (target.hostname ?? target.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(target.port) || (secure ? 443 : 80);
    openTunnel(proxy, host, port).then(
      (socket) => {
        if (tls === undefined) return cb(null, socket);
        const secured = tlsConnect({ ...tls, socket, ...(isIP(host) === 0 ? { servername: host } : {}) });
        secured.once('secureConnect', () => cb(null, secured));
        secured.once('error', (err) => cb(err, secured));
      },
      (err: Error) => cb(err, undefined as unknown as Duplex),
    );
  };
  if (secure) {
    return new (class extends HttpsAgent {
      override createConnection(o: Target, cb?: Callback): undefined {
        create(o, o as ConnectionOptions, cb);
        return undefined;
      }
    })({ keepAlive: true, ...options });
  }
  return new (class extends HttpAgent {
    override createConnection(o: Target, cb?: Callback): undefined {
      create(o, undefined, cb);
      return undefined;
    }
  })({ keepAlive: true, ...options });
}

/** True when the environment names any proxy (then clients that pool their own connections take environmentAgent). */
export function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].some((n) => (env[n] ?? '').trim() !== '');
}

/**
 * A node:http(s) Agent that decides per connection, by proxyFor: a CONNECT tunnel through the
 * proxy, or a direct connection (for the AWS SDK's handler, which pools through such agents).
 */
export function environmentAgent(secure: boolean): HttpAgent {
  const tunnels = new Map<string, HttpAgent>();
  const pick = (o: Target): Proxy | undefined => {
    const host = (o.hostname ?? o.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${Number(o.port) || (secure ? 443 : 80)}`;
    return proxyFor(new URL(`${secure ? 'https' : 'http'}://${authority}`));
  };
  const through = (proxy: Proxy): HttpAgent => {
    let agent = tunnels.get(proxy.uri);
    if (agent === undefined) tunnels.set(proxy.uri, (agent = tunnelAgent(proxy, secure)));
    return agent;
  };
  const Base = secure ? HttpsAgent : HttpAgent;
  return new (class extends Base {
    override createConnection(o: Target, cb?: Callback): Duplex | undefined {
      const proxy = pick(o);
      if (proxy === undefined) return super.createConnection(o as never, cb) as Duplex | undefined;
      return (through(proxy) as unknown as { createConnection(o: Target, cb?: Callback): undefined }).createConnection(o, cb);
    }
  })({ keepAlive: true });
}
