import { resolve } from 'node:path';
import type { TargetArch } from '../debian/arch.js';
import type { UserFile } from '../layer/user-files.js';
import type { FileSpec } from '../recipe/types.js';

/** Expands `{os} {arch} {variant} {debarch}` in a recipe file's source path for one arch. */
export function expandSource(template: string, arch: TargetArch): string {
  const values: Record<string, string> = {
    os: arch.platform.os,
    arch: arch.platform.architecture,
    variant: arch.platform.variant ?? '',
    debarch: arch.debian,
  };
  return resolve(template.replace(/\{(os|arch|variant|debarch)\}/g, (_m, key: string) => values[key] ?? ''));
}

/** The recipe's files for one arch, with their source paths expanded. */
export function userFilesFor(specs: readonly FileSpec[], arch: TargetArch): UserFile[] {
  return specs.map((f) => ({ src: expandSource(f.src, arch), dst: f.dst, mode: f.mode, uid: f.uid, gid: f.gid, checkElf: f.checkElf }));
}
