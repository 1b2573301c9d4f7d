/**
 * Preloaded into the CLI by memory-cap tests (`NODE_OPTIONS=--import=<this file>`, see
 * peakRssEnv): at exit, the process writes its peak resident set size (getrusage maxRSS, KiB) to
 * stderr as `alba-test-peak-rss-kib N`, so a test that runs alba as a child reads the peak of
 * that run alone, whatever else the test process holds.
 */
export const PEAK_RSS_MARK = 'alba-test-peak-rss-kib';

/** The environment that makes a child `node` process report its peak RSS on exit. */
export function peakRssEnv(): Record<string, string> {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${import.meta.url}`.trim(), ALBA_TEST_PEAK_RSS: '1' };
}

/** The peak RSS in MiB that a child run with peakRssEnv() reported on stderr, or undefined. */
export function peakRssMiB(stderr: string): number | undefined {
  const m = new RegExp(`${PEAK_RSS_MARK} (\\d+)`).exec(stderr);
  return m === null ? undefined : Number(m[1]) / 1024;
}

// Only in the preloaded child: a test that imports this module for the helpers above is not marked.
if (process.env.ALBA_TEST_PEAK_RSS !== undefined) {
  process.on('exit', () => process.stderr.write(`${PEAK_RSS_MARK} ${process.resourceUsage().maxRSS}\n`));
}
