import { CA_BUNDLE_PATH } from '../layer/base-files.js';
import type { Recipe } from '../recipe/types.js';

/** PATH of every image unless the recipe sets its own. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The image environment: PATH, SSL_CERT_FILE when a CA bundle exists, then the recipe's env (which wins). */
export function imageEnv(recipe: Recipe, hasCaBundle: boolean): Record<string, string> {
  return {
    PATH: DEFAULT_PATH,
    ...(hasCaBundle ? { SSL_CERT_FILE: `/${CA_BUNDLE_PATH}` } : {}),
    ...recipe.env,
  };
}

/** The config `User`: a recipe user name becomes `uid:gid` (runtimes need no passwd lookup); numbers stay. */
export function imageUser(recipe: Recipe): string | undefined {
  if (recipe.runAs === undefined) return undefined;
  const user = recipe.users.find((u) => u.name === recipe.runAs);
  return user === undefined ? recipe.runAs : `${user.uid}:${user.gid}`;
}
