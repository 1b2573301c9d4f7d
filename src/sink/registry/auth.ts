import { AlbaError } from '../../errors.js';

/** A registry user name and password, or an identity (OAuth2 refresh) token from `docker login`. */
export interface Credentials {
  username: string;
  password: string;
  /** Exchanged for access tokens with the OAuth2 refresh_token grant; basic auth is then never sent. */
  identityToken?: string;
}

/** One parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  /** Lowercased: `basic`, `bearer`… */
  scheme: string;
  /** Parameters such as realm, service and scope, by lowercased name. */
  params: Record<string, string>;
}

/** Parses `user:password` (the password may contain `:`); anything else is USAGE, naming `source`. */
export function parseCredentials(text: string, source: string): Credentials {
  const colon = text.indexOf(':');
  if (colon <= 0) {
    throw new AlbaError('USAGE', `${source} must be USER:PASSWORD`, {
      hint: 'e.g. --creds alice:s3cret, or ALBA_REGISTRY_AUTH=alice:s3cret',
    });
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The `Authorization` header value of HTTP basic auth. */
export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

const PARAM_RE = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/;
const SCHEME_RE = /^\s*,*\s*([A-Za-z0-9_.-]+)(?:\s+|$)/;

/**
 * Parses a `WWW-Authenticate` header into its challenges, e.g.
 * `Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"`.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let rest = header;
  while (rest.trim() !== '') {
    const scheme = SCHEME_RE.exec(rest);
    if (scheme === null) break;
    rest = rest.slice(scheme[0].length);
    const params: Record<string, string> = {};
    for (let param = PARAM_RE.exec(rest); param !== null; param = PARAM_RE.exec(rest)) {
      params[(param[1] as string).toLowerCase()] = param[2] === undefined ? (param[3] as string) : param[2].replace(/\\(.)/g, '$1');
      rest = rest.slice(param[0].length);
    }
    out.push({ scheme: (scheme[1] as string).toLowerCase(), params });
  }
  return out;
}
