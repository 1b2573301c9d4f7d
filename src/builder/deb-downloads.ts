import { cacheArea } from '../cache.js';
import { downloadDebs, type DebDownload } from '../debian/download.js';
import type { LockedPackage } from '../lock/lock-types.js';
import { BlobStore } from '../oci/blob-store.js';
import type { FetchTarget } from '../recipe/mirror.js';
import { describePackage } from './package-layers.js';

/** Maps a locked package to the URL of the repository it is fetched from (a mirror, or its own). */
export function fetchBaseUrls(targets: readonly FetchTarget[]): (p: LockedPackage) => string {
  const byKey = new Map(targets.map((t) => [`${t.source.url} ${t.suite}`, t.fetchUrl]));
  return (p) => byKey.get(`${p.repo} ${p.suite}`) ?? p.repo;
}

/** The download of a locked package's .deb, from where `fetchBase` says. */
export function debDownload(p: LockedPackage, fetchBase: (p: LockedPackage) => string): DebDownload {
  return { url: `${fetchBase(p)}/${p.filename}`, sha256: p.sha256, size: p.size, what: describePackage(p) };
}

/**
 * Downloads .debs into the cache while the rest of the work goes on: `alba build` without a lock
 * hands it each arch's packages as soon as that arch is resolved, so downloads overlap the other
 * archs' resolution, and build() then finds them in the cache. Each .deb is fetched once. A failed
 * download is left for build() to try again and report.
 */
export class DebPrefetch {
  private readonly store: BlobStore;
  private readonly fetchBase: (p: LockedPackage) => string;
  private readonly started = new Map<string, Promise<boolean>>();

  constructor(cacheDir: string, targets: readonly FetchTarget[]) {
    this.store = new BlobStore(cacheArea(cacheDir, 'blobs'));
    this.fetchBase = fetchBaseUrls(targets);
  }

  /** Starts the downloads of these packages' .debs not started yet. */
  add(packages: readonly LockedPackage[]): void {
    for (const p of packages) {
      if (this.started.has(p.sha256)) continue;
      const done = downloadDebs([debDownload(p, this.fetchBase)], { store: this.store }).then(
        ([got]) => got !== undefined && !got.cached,
        () => false,
      );
      this.started.set(p.sha256, done);
    }
  }

  /** Waits for every download started; the SHA256 of the .debs downloaded (and verified while written) by this process. */
  async finish(): Promise<Set<string>> {
    const fresh = new Set<string>();
    for (const [sha256, done] of this.started) if (await done) fresh.add(sha256.toLowerCase());
    return fresh;
  }
}
