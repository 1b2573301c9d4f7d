import { spawnSync } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** A request the token service answered (or refused). */
export interface TokenRequest {
  method: string;
  /** Every scope asked for. */
  scopes: string[];
  /** `basic:<user>`, `refresh:<token>` or `anonymous`. */
  who: string;
}

/** A token service for a distribution registry started with `auth: token`. */
export interface TokenServer {
  /** `http://127.0.0.1:<port>/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** The PEM certificate the registry trusts (its `rootcertbundle`). */
  rootCertBundle: string;
  /** The refresh (identity) token that grants like the user's password. */
  refreshToken: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

/** Makes an RSA key and a self-signed certificate with openssl (`subject`, optional IP SAN). */
export function makeCertificate(dir: string, name: string, subject: string, ip?: string): { certificate: string; key: string } {
  const certificate = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const args = [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    certificate,
    '-days',
    '2',
    '-subj',
    subject,
    ...(ip === undefined ? [] : ['-addext', `subjectAltName=IP:${ip}`]),
  ];
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl failed: ${run.stderr}`);
  return { certificate, key };
}

/**
 * Starts a token service on 127.0.0.1 in the way of Docker's: `GET /token?service=&scope=…`
 * with basic auth (or none), and the OAuth2 `POST /token` (`grant_type=password` or
 * `refresh_token`). `user` gets pull and push on every repository; anonymous callers get
 * nothing. Tokens are JWTs signed RS256 with an `x5c` header holding the certificate.
 */
export async function startTokenServer(dir: string, user: { username: string; password: string }): Promise<TokenServer> {
  const { certificate, key } = makeCertificate(dir, 'token', '/CN=alba-test-token');
  const keyPem = readFileSync(key, 'utf8');
  const der = new X509Certificate(readFileSync(certificate)).raw.toString('base64');
  const state: TokenServer = {
    realm: '',
    service: 'alba-test',
    issuer: 'alba-test-issuer',
    rootCertBundle: certificate,
    refreshToken: randomBytes(16).toString('hex'),
    requests: [],
    close: async () => undefined,
  };

  const sign = (scopes: string[], subject: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return type === 'repository' && name !== undefined
        ? [{ type, name, actions: (actions ?? '').split(',').filter((a) => a === 'pull' || a === 'push') }]
        : [];
    });
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = `${b64({ typ: 'JWT', alg: 'RS256', x5c: [der] })}.${b64({ iss: state.issuer, sub: subject, aud: state.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access })}`;
    return `${body}.${createSign('RSA-SHA256').update(body).sign(keyPem).toString('base64url')}`;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const form = req.method === 'POST' ? new URLSearchParams(await text(req)) : undefined;
    const scopes = form === undefined ? url.searchParams.getAll('scope') : (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
    let who = 'anonymous';
    const basic =
      req.headers.authorization?.startsWith('Basic ') === true
        ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString('utf8')
        : undefined;
    if (basic !== undefined) who = basic === `${user.username}:${user.password}` ? `basic:${user.username}` : 'bad-password';
    if (form?.get('grant_type') === 'refresh_token')
      who = form.get('refresh_token') === state.refreshToken ? `refresh:${form.get('refresh_token')}` : 'bad-refresh';
    if (form?.get('grant_type') === 'password')
      who = form.get('username') === user.username && form.get('password') === user.password ? `basic:${user.username}` : 'bad-password';
    state.requests.push({ method: req.method ?? 'GET', scopes, who });
    if (who.startsWith('bad')) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const granted = who === 'anonymous' ? [] : scopes;
    const token = sign(granted, who);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(form === undefined ? { token, expires_in: 300 } : { access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
