import { AlbaError, redactUrl } from '../errors.js';

/** `text` parsed when it is an http or https URL, else undefined. */
export function httpUrl(text: string): URL | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  return url?.protocol === 'http:' || url?.protocol === 'https:' ? url : undefined;
}

/** The user name and password of `url`, percent-decoded; `invalid` makes the error for a `%` that is not an escape. */
export function decodedUserInfo(url: URL, invalid: () => AlbaError): [user: string, password: string] {
  try {
    return [decodeURIComponent(url.username), decodeURIComponent(url.password)];
  } catch {
    throw invalid();
  }
}

/**
 * A URL a server named (a redirect's or an upload's `Location`, a `Link` to the next page, a
 * token realm), resolved against the URL it answered for: an http(s) URL whose user part decodes,
 * else REGISTRY naming `what` and where it came from. Garbage in a header is the server's error,
 * never a TypeError.
 */
export function registryUrl(ref: string, base: string | undefined, what: string): string {
  const bad = (why: string): AlbaError =>
    new AlbaError(
      'REGISTRY',
      `${base === undefined ? '' : `${redactUrl(base)}: `}${what} ${JSON.stringify(redactUrl(ref).slice(0, 200))} ${why}`,
      {
        hint: 'the registry (or a proxy or auth service in front of it) sends a broken address; it is misconfigured or hostile',
      },
    );
  if (!URL.canParse(ref, base)) throw bad('is not a URL');
  const url = new URL(ref, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('is not an http(s) URL');
  decodedUserInfo(url, () => bad('holds a % that is not an escape in its user part'));
  return url.href;
}
