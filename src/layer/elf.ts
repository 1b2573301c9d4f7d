import { open } from 'node:fs/promises';
import type { TargetArch } from '../debian/arch.js';
import { AlbaError } from '../errors.js';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Human names of the ELF machines alba targets (e_machine values). */
const MACHINE_NAMES: Record<number, string> = {
  3: 'x86 (i386)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 's390',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
};

/** What the first bytes of an ELF file say; undefined for a file that is not ELF. */
export interface ElfIdent {
  /** 1 = 32-bit, 2 = 64-bit. */
  elfClass: number;
  machine: number;
}

/** Reads class and machine from an ELF header (needs the first 20 bytes); undefined if not ELF. */
export function parseElfIdent(head: Buffer): ElfIdent | undefined {
  if (head.length < 20 || !head.subarray(0, 4).equals(ELF_MAGIC)) return undefined;
  const bigEndian = head[5] === 2;
  return { elfClass: head[4] as number, machine: bigEndian ? head.readUInt16BE(18) : head.readUInt16LE(18) };
}

/** A readable name for an ELF machine, e.g. `x86-64`; with `withClass`, e.g. `ARM 64-bit`. */
export function describeElf(ident: ElfIdent, withClass = false): string {
  const name = MACHINE_NAMES[ident.machine] ?? `machine ${ident.machine}`;
  if (!withClass) return name;
  return `${name} ${ident.elfClass === 1 ? '32-bit' : ident.elfClass === 2 ? '64-bit' : `class ${ident.elfClass}`}`;
}

/**
 * Checks that `path` may go into an image for `arch`: a missing file is FILE_MISSING; an ELF
 * file built for another machine or word size is ELF_ARCH_MISMATCH; non-ELF files pass.
 */
export async function checkElfArch(path: string, arch: TargetArch): Promise<void> {
  const head = Buffer.alloc(20);
  let bytesRead: number;
  try {
    const fh = await open(path, 'r');
    try {
      ({ bytesRead } = await fh.read(head, 0, head.length, 0));
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new AlbaError(
      'FILE_MISSING',
      `${arch.name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: 'build the file for every arch of the recipe, or fix the `src` template of the file',
        cause: err,
      },
    );
  }
  const ident = parseElfIdent(head.subarray(0, bytesRead));
  if (ident === undefined || (ident.machine === arch.elfMachine && ident.elfClass === arch.elfClass)) return;
  const found = describeElf(ident, ident.machine === arch.elfMachine);
  throw new AlbaError('ELF_ARCH_MISMATCH', `${path} is an ELF for ${found}, not ${arch.name}`, {
    hint: `cross-compile it for ${arch.name}, point \`src\` at the ${arch.name} build, or set check-elf: false if this is intended`,
  });
}
