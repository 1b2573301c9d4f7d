import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
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

/**
 * `skopeo copy` (Debian 13's) of `image` (`HOST/REPO@sha256:…`, plain HTTP) into an OCI layout
 * under `dir`, under a policy that rejects everything but images of HOST signed by `keyPath`
 * (`sigstoreSigned`, identity `matchRepository`, cosign's attachments read).
 */
export async function sigstorePull(skopeo: string, dir: string, image: string, keyPath: string): Promise<SpawnSyncReturns<string>> {
  const host = image.slice(0, image.indexOf('/'));
  const policy = join(dir, 'policy.json');
  const registries = join(dir, 'registries.d');
  await mkdir(registries, { recursive: true });
  await writeFile(
    policy,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { docker: { [host]: [{ type: 'sigstoreSigned', keyPath, signedIdentity: { type: 'matchRepository' } }] } },
    }),
  );
  await writeFile(join(registries, 'sigstore.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
  const out = await mkdtemp(join(dir, 'pulled-'));
  return spawnSync(
    skopeo,
    [
      '--policy',
      policy,
      '--registries.d',
      registries,
      'copy',
      '--remove-signatures',
      '--src-tls-verify=false',
      `docker://${image}`,
      `oci:${out}`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
}
