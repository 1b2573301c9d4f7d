import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AlbaError } from '../errors.js';
import { anyRegistryFlag, registryAccess, registryClientOptions, withRegistryOptions, type RegistryFlagValues } from './registry-flags.js';

interface SbomFlags extends RegistryFlagValues {
  platform?: string;
  format: 'spdx' | 'cyclonedx';
  ref?: string;
  tag?: string;
}

/**
 * `alba sbom LAYOUT|REF [--platform P] [--format spdx|cyclonedx]`: prints the SPDX (or CycloneDX)
 * document of an image (default: of the index), from an OCI layout directory or, for anything that is not a directory or a path, a registry.
 */
export function sbomCommand(): Command {
  return withRegistryOptions(
    new Command('sbom')
      .description(
        "print the SPDX or CycloneDX SBOM of an image (default: the index's), from an OCI layout, a registry or an S3 static registry",
      )
      .argument(
        '<target>',
        'a layout directory, an image reference HOST/NAME:TAG or HOST/NAME@sha256:…, or s3://BUCKET[/PREFIX]?endpoint=… with -t',
      )
      .option('--platform <platform>', "the document of that platform's image (e.g. linux/arm64)")
      .addOption(
        new Option('--format <format>', 'which document: SPDX 2.3 or CycloneDX 1.6').choices(['spdx', 'cyclonedx']).default('spdx'),
      )
      .option('--ref <tag>', 'layouts only: which index of index.json, when it holds several')
      .option('-t, --tag <name:tag>', 's3:// only: the image, NAME:TAG'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  alba sbom out/busybox --platform linux/arm64 | jq .packages[].name\n  alba sbom ghcr.io/acme/app:1.0 --format cyclonedx | jq .components[].purl\n  alba sbom -t app:1.0 "s3://dist?endpoint=s3.example&region=eu"',
    )
    .action(async (target: string, flags: SbomFlags) => {
      const platform = { format: flags.format, ...(flags.platform === undefined ? {} : { platform: flags.platform }) };
      if (target.startsWith('s3://') !== (flags.tag !== undefined)) {
        throw new AlbaError(
          'USAGE',
          flags.tag === undefined ? `${target}: which image? give -t NAME:TAG` : '-t NAME:TAG goes with an s3:// target',
          {
            hint: 'alba sbom -t app:1.0 s3://BUCKET?endpoint=…; a layout or registry reference names its image itself',
          },
        );
      }
      if (flags.tag !== undefined) {
        const { readBucketSbom } = await import('../sbom/read-s3.js');
        process.stdout.write(await readBucketSbom(target, flags.tag, platform));
        return;
      }
      if (looksLikePath(target) || (await isDirectory(target))) {
        if (anyRegistryFlag(registryAccess(flags))) {
          throw new AlbaError(
            'USAGE',
            `--creds, --plain-http and the TLS options are for registry references, and ${target} is a layout directory`,
            { hint: 'drop them' },
          );
        }
        const { readSbom } = await import('../sbom/read.js');
        process.stdout.write(await readSbom(resolve(target), { ...platform, ...(flags.ref === undefined ? {} : { ref: flags.ref }) }));
        return;
      }
      if (flags.ref !== undefined) {
        throw new AlbaError('USAGE', `--ref picks an index in a layout directory, and ${target} is not a directory`, {
          hint: 'put the tag in the reference: HOST/NAME:TAG',
        });
      }
      const [{ readRegistrySbom }, { parseReference }] = await Promise.all([
        import('../sbom/read-registry.js'),
        import('../sink/registry/reference.js'),
      ]);
      process.stdout.write(
        await readRegistrySbom(target, {
          ...platform,
          ...(await registryClientOptions(parseReference(target).registry, registryAccess(flags))),
        }),
      );
    });
}

/** `/…`, `./…`, `../…`, `~…`: meant as a directory even when it does not exist (never a valid reference). */
function looksLikePath(target: string): boolean {
  return /^(?:\/|\.|~)/.test(target);
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
