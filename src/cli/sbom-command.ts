import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AlbaError } from '../errors.js';
import { readRegistrySbom } from '../sbom/read-registry.js';
import { readSbom } from '../sbom/read.js';
import { parseReference } from '../sink/registry/reference.js';
import { onePositional, parseCommandArgs } from './args.js';
import { anyRegistryFlag, REGISTRY_FLAGS, registryAccess, registryClientOptions } from './registry-flags.js';

/**
 * `alba sbom LAYOUT|REF [--platform P]`: prints the SPDX document of an image (default: of the
 * index), from an OCI layout directory or, for anything that is not a directory or a path, a registry.
 */
export async function sbomCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs('sbom', argv, {
    platform: { type: 'string' },
    ref: { type: 'string' },
    ...REGISTRY_FLAGS,
  });
  const target = onePositional('sbom', positionals, 'layout or image reference');
  const platform = values.platform === undefined ? {} : { platform: values.platform };
  if (looksLikePath(target) || (await isDirectory(target))) {
    if (anyRegistryFlag(registryAccess(values))) {
      throw new AlbaError('USAGE', `--creds, --plain-http and the TLS options are for registry references, and ${target} is a layout directory`, { hint: 'drop them' });
    }
    process.stdout.write(await readSbom(resolve(target), { ...platform, ...(values.ref === undefined ? {} : { ref: values.ref }) }));
    return;
  }
  if (values.ref !== undefined) {
    throw new AlbaError('USAGE', `--ref picks an index in a layout directory, and ${target} is not a directory`, { hint: 'put the tag in the reference: HOST/NAME:TAG' });
  }
  const bytes = await readRegistrySbom(target, { ...platform, ...(await registryClientOptions(parseReference(target).registry, registryAccess(values))) });
  process.stdout.write(bytes);
}

/** `/…`, `./…`, `../…`, `~…`: meant as a directory even when it does not exist (never a valid reference). */
function looksLikePath(target: string): boolean {
  return /^(?:\/|\.|~)/.test(target);
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
