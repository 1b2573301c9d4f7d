import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';

/** cosign 2.5 and skopeo 1.18 from Debian 13 (Debian 12's skopeo has sigstore disabled). */
export interface TrixieTools {
  cosign: string;
  skopeo: string;
}

/** Where the tools are kept between runs (ALBA_TRIXIE_TOOLS overrides). */
const CACHE = process.env.ALBA_TRIXIE_TOOLS ?? '/var/tmp/alba-trixie-tools';
let fetched: TrixieTools | string | undefined;

/**
 * The tools, fetched once by .ci/fetch-trixie-tool.sh (a copy of ../shared/peers') into CACHE (reused across
 * runs). When they cannot be had: with CI=true a thrown error (a failure), else a string saying
 * why (the caller skips with it).
 */
export function trixieTools(): TrixieTools | string {
  if (fetched !== undefined) return fetched;
  const tools = { cosign: join(CACHE, 'root/usr/bin/cosign'), skopeo: join(CACHE, 'skopeo') };
  if (!existsSync(tools.cosign) || !existsSync(tools.skopeo)) {
    const script =
      [join(repoRoot(), '.ci', 'fetch-trixie-tool.sh'), join(repoRoot(), '..', 'shared', 'peers', 'fetch-trixie-tool.sh')].find((s) =>
        existsSync(s),
      ) ?? '.ci/fetch-trixie-tool.sh';
    const run = existsSync(script)
      ? spawnSync('bash', [script, CACHE, 'cosign', 'skopeo'], { encoding: 'utf8', timeout: 300_000 })
      : undefined;
    if (run?.status !== 0 || !existsSync(tools.cosign) || !existsSync(tools.skopeo)) {
      const why = `cosign/skopeo from Debian 13 could not be fetched into ${CACHE} (${run === undefined ? `${script} is missing` : run.stderr.trim() || `status ${run.status}`})`;
      if (process.env.CI === 'true') throw new Error(why);
      return (fetched = why);
    }
  }
  return (fetched = tools);
}
