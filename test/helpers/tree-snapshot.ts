import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every entry under `dir` (recursively), by relative path, as `type mode size sha256`, so that two
 * snapshots compare equal only when the whole tree is the same, byte for byte.
 */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const info = await lstat(join(dir, path));
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isDirectory()) {
        out[path] = `dir ${mode}`;
        await walk(path);
      } else if (info.isSymbolicLink()) out[path] = `link ${await readlink(join(dir, path))}`;
      else
        out[path] = `file ${mode} ${info.size} ${createHash('sha256')
          .update(await readFile(join(dir, path)))
          .digest('hex')}`;
    }
  };
  await walk('');
  return out;
}
