import { readFile, stat, utimes, writeFile } from 'node:fs/promises';

/**
 * Flips the last byte of a file, keeping its size and giving it back its mtime (its ctime still
 * moves: on a kernel whose ctime comes from the coarse clock, 1–4 ms ticks, the change waits for a
 * tick after the file's last one, and the helper fails rather than damage it unseen).
 */
export async function damageInPlace(path: string): Promise<void> {
  const info = await stat(path, { bigint: true });
  const age = Date.now() - Number(info.ctimeNs / 1_000_000n);
  if (age < 20) await new Promise((r) => setTimeout(r, 20 - age));
  const bytes = await readFile(path);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
  await writeFile(path, bytes);
  await utimes(path, new Date(Number(info.atimeNs / 1_000_000n)), new Date(Number(info.mtimeNs / 1_000_000n)));
  if ((await stat(path, { bigint: true })).ctimeNs === info.ctimeNs) throw new Error(`damageInPlace: ${path}: its ctime did not move`);
}
