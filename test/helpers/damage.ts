import { readFile, stat, utimes, writeFile } from 'node:fs/promises';

/** Flips the last byte of a file, keeping its size and giving it back its mtime (its ctime still moves). */
export async function damageInPlace(path: string): Promise<void> {
  const info = await stat(path);
  const bytes = await readFile(path);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
  await writeFile(path, bytes);
  await utimes(path, info.atime, info.mtime);
}
