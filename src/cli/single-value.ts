import type { Command } from 'commander';
import { AlbaError } from '../errors.js';
import { repeatable } from './args.js';

/**
 * Makes every option of `command` that takes one value refuse a second one (`--out a --out b`):
 * a USAGE error instead of commander's last-one-wins, which once turned `--push A --push B` into
 * a push to B alone. Options that collect their values (`repeatable`) and flags are left alone.
 */
export function refuseRepeatedValues(command: Command, name: string): void {
  const seen = new Set<string>();
  for (const option of command.options) {
    if (!(option.required || option.optional) || option.variadic || option.parseArg === repeatable) continue;
    const flag = option.long ?? option.short ?? option.name();
    command.on(`option:${option.name()}`, () => {
      if (seen.has(flag))
        throw new AlbaError('USAGE', `${name}: ${flag} takes one value and was given twice`, {
          hint: `give ${flag} once; run \`${name} --help\` for the options that may repeat`,
        });
      seen.add(flag);
    });
  }
}
