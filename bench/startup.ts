/**
 * Start-up cost of the CLI: wall time of `node -e 0`, `alba --version` and
 * `alba container push --help`, run N times each (default 30, interleaved so that a busy machine
 * slows all three alike), median and min in milliseconds, and each median over `node -e 0`'s. `node dist/bench/startup.js [N] [OTHER_BIN]`:
 * with OTHER_BIN (another checkout's bin/alba.cjs, e.g. before a change), its two commands run interleaved too.
 */
import { spawnSync } from 'node:child_process';
import { albaBin } from '../test/helpers/run-alba.js';
import { markdownTable, median } from './util.js';

const runs = Number(process.argv[2] ?? 30);
const other = process.argv[3];
const cases: [string, string[]][] = [
  ['node -e 0', ['-e', '0']],
  ...[albaBin, ...(other === undefined ? [] : [other])].flatMap((bin): [string, string[]][] => [
    [`${bin === albaBin ? '' : `${bin}: `}alba --version`, [bin, '--version']],
    [`${bin === albaBin ? '' : `${bin}: `}alba container push --help`, [bin, 'container', 'push', '--help']],
  ]),
];
const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, args] of cases) {
    const start = process.hrtime.bigint();
    spawnSync(process.execPath, args, { stdio: 'ignore' });
    times.get(name)?.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
const node = median(times.get('node -e 0') ?? []);
const rows = cases.map(([name]) => {
  const t = times.get(name) ?? [];
  return [name, median(t).toFixed(1), Math.min(...t).toFixed(1), `${(median(t) / node).toFixed(2)}×`];
});
for (const line of markdownTable(['command', 'median ms', 'min ms', '× `node -e 0` (same run)'], rows)) console.log(line);
