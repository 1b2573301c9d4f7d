import { resolve } from 'node:path';
import { readSbom } from '../sbom/read.js';
import { onePositional, parseCommandArgs } from './args.js';

/** `alba sbom LAYOUT [--platform P]`: prints the SPDX document of an image (default: of the index). */
export async function sbomCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs('sbom', argv, {
    platform: { type: 'string' },
    ref: { type: 'string' },
  });
  const layout = resolve(onePositional('sbom', positionals, 'layout'));
  const bytes = await readSbom(layout, {
    ...(values.platform === undefined ? {} : { platform: values.platform }),
    ...(values.ref === undefined ? {} : { ref: values.ref }),
  });
  process.stdout.write(bytes);
}
