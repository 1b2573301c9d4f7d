import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { AlbaError } from '../errors.js';
import type { VerifyReport } from '../trust/verify.js';
import { out } from './args.js';
import { anyRegistryFlag, registryAccess, registryClientOptions, withRegistryOptions, type RegistryFlagValues } from './registry-flags.js';

interface VerifyFlags extends RegistryFlagValues {
  key: string;
  ref?: string;
  json?: boolean;
}

/**
 * `alba verify LAYOUT|REF --key PUB`: the cosign signatures of the index and each platform, the
 * attestations of that key (signature, subject, the SBOMs they sign); a summary, and a non-zero
 * exit with the first failure's code when anything does not verify (docs/trust.md).
 */
export function verifyCommand(): Command {
  return withRegistryOptions(
    new Command('verify')
      .description('check the signatures and attestations of an image (cosign format) with a public key')
      .argument('<target>', 'a layout directory, or an image reference HOST/NAME:TAG or HOST/NAME@sha256:…')
      .requiredOption('--key <file>', 'the public key (PEM, e.g. cosign.pub)')
      .option('--ref <tag>', 'layouts only: which index of index.json, when it holds several')
      .option('--json', 'print one JSON object'),
  )
    .addHelpText('after', '\nExample:\n  alba verify registry.example/app:1.0 --key cosign.pub')
    .action(async (target: string, flags: VerifyFlags) => {
      const [{ loadPublicKey }, { verifyImage, failIfAny }, sources] = await Promise.all([
        import('../trust/keys.js'),
        import('../trust/verify.js'),
        import('../trust/verify-source.js'),
      ]);
      const key = await loadPublicKey(resolve(flags.key));
      const isLayout = /^(?:\/|\.|~)/.test(target) || ((await stat(target).catch(() => undefined))?.isDirectory() ?? false);
      if (isLayout && anyRegistryFlag(registryAccess(flags)))
        throw new AlbaError(
          'USAGE',
          `--creds, --plain-http and the TLS options are for registry references, and ${target} is a layout directory`,
          { hint: 'drop them' },
        );
      if (!isLayout && flags.ref !== undefined)
        throw new AlbaError('USAGE', `--ref picks an index in a layout directory, and ${target} is not a directory`, {
          hint: 'put the tag in the reference: HOST/NAME:TAG',
        });
      const source = isLayout
        ? await sources.layoutTrustSource(resolve(target), flags.ref)
        : await sources.registryTrustSource(
            target,
            await registryClientOptions(
              (await import('../sink/registry/reference.js')).parseReference(target).registry,
              registryAccess(flags),
            ),
          );
      const report = await verifyImage(source, key);
      out(flags.json === true ? JSON.stringify({ ...report, ok: report.failures.length === 0 }) : summary(report));
      failIfAny(report);
    });
}

function summary(report: VerifyReport): string {
  const lines = report.subjects.map((s) => {
    const what = (s.platform ?? 'index').padEnd(14);
    const atts = s.attestations.length === 0 ? 'no attestations' : `attestations: ${s.attestations.join(', ')}`;
    return `${what} ${s.digest}  ${s.signatures} signature${s.signatures === 1 ? '' : 's'}, ${atts}${s.others > 0 ? ` (${s.others} of other keys)` : ''}`;
  });
  const head = report.failures.length === 0 ? `verified ${report.name}@${report.root}` : `NOT verified ${report.name}@${report.root}`;
  return [head, ...lines].join('\n');
}
