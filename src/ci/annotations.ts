/**
 * `--annotations-from-ci`: the OCI annotations a CI run knows (source, revision, url, version),
 * read from GitHub Actions' or GitLab CI's variables. Explicit: without the flag, the same lock
 * gives the same digest wherever it is built.
 */
import { AlbaError } from '../errors.js';

const PREFIX = 'org.opencontainers.image.';

/** The annotations of the CI run `env` describes; USAGE when it is neither GitHub Actions nor GitLab CI. */
export function ciAnnotations(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const v = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  let found: Record<string, string | undefined>;
  if (v('GITHUB_ACTIONS') === 'true' || v('GITHUB_REPOSITORY') !== undefined) {
    const server = v('GITHUB_SERVER_URL') ?? 'https://github.com';
    const repo = v('GITHUB_REPOSITORY');
    const url = repo === undefined ? undefined : `${server.replace(/\/+$/, '')}/${repo}`;
    found = { source: url, url, revision: v('GITHUB_SHA'), version: v('GITHUB_REF_TYPE') === 'tag' ? v('GITHUB_REF_NAME') : undefined };
  } else if (v('GITLAB_CI') === 'true' || v('CI_PROJECT_URL') !== undefined) {
    const url = v('CI_PROJECT_URL');
    found = { source: url, url, revision: v('CI_COMMIT_SHA'), version: v('CI_COMMIT_TAG') };
  } else {
    throw new AlbaError('USAGE', '--annotations-from-ci: neither GitHub Actions nor GitLab CI variables are set', {
      hint: 'run it in a CI job (GITHUB_REPOSITORY/GITHUB_SHA or CI_PROJECT_URL/CI_COMMIT_SHA), or give --annotation KEY=VALUE',
    });
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(found)) if (value !== undefined) out[`${PREFIX}${key}`] = value;
  return out;
}
