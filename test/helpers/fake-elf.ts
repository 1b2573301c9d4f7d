import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findArch, type TargetArch } from '../../src/debian/arch.js';

/** e_machine and EI_CLASS of each Debian architecture, from the ELF specification (the tests' oracle, not the product's table). */
export const ELF_OF_DEBIAN_ARCH: Readonly<Record<string, { machine: number; class: 1 | 2 }>> = {
  amd64: { machine: 62, class: 2 },
  arm64: { machine: 183, class: 2 },
  armhf: { machine: 40, class: 1 },
  armel: { machine: 40, class: 1 },
  i386: { machine: 3, class: 1 },
  ppc64el: { machine: 21, class: 2 },
  s390x: { machine: 22, class: 2 },
  riscv64: { machine: 243, class: 2 },
  mips64el: { machine: 8, class: 2 },
};

/**
 * A tiny ELF file for `arch` (or another arch's name): a valid ELF identification and header
 * (ET_EXEC, little-endian except s390x, version 1, the arch's class and e_machine) followed by
 * `tag` as a trailer, so two fake programs of the same arch can differ. It never runs.
 */
export function fakeElf(arch: TargetArch | string, tag = ''): Buffer {
  const target = typeof arch === 'string' ? findArch(arch) : arch;
  if (target === undefined) throw new Error(`fakeElf: unknown arch ${String(arch)}`);
  const elf = ELF_OF_DEBIAN_ARCH[target.debian];
  if (elf === undefined) throw new Error(`fakeElf: no ELF facts for ${target.debian}`);
  const is64 = elf.class === 2;
  const bigEndian = target.debian === 's390x';
  const header = Buffer.alloc(is64 ? 64 : 52);
  header.set([0x7f, 0x45, 0x4c, 0x46, elf.class, bigEndian ? 2 : 1, 1], 0);
  const u16 = (value: number, offset: number): number =>
    bigEndian ? header.writeUInt16BE(value, offset) : header.writeUInt16LE(value, offset);
  const u32 = (value: number, offset: number): number =>
    bigEndian ? header.writeUInt32BE(value, offset) : header.writeUInt32LE(value, offset);
  u16(2, 16); // e_type: ET_EXEC
  u16(elf.machine, 18);
  u32(1, 20); // e_version
  u16(header.length, is64 ? 52 : 40); // e_ehsize
  return Buffer.concat([header, Buffer.from(tag, 'utf8')]);
}

/**
 * Writes `fakeElf(arch, '<name> for <arch>\n')` for every arch to `<dir>/<os>/<architecture>/<name>`,
 * the layout `src: dist/{os}/{arch}/<name>` expects. Returns the paths written, by arch name.
 */
export async function writeFakePrograms(dir: string, archs: readonly string[], name = 'app'): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  for (const archName of archs) {
    const arch = findArch(archName);
    if (arch === undefined) throw new Error(`writeFakePrograms: unknown arch ${archName}`);
    const path = join(dir, arch.platform.os, arch.platform.architecture, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, fakeElf(arch, `${name} for ${arch.name}\n`));
    written.set(arch.name, path);
  }
  return written;
}
