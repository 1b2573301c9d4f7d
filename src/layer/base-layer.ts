import type { BlobStore } from '../oci/blob-store.js';
import { planBaseFiles, type BaseFilesInput } from './base-files.js';
import { addEntry, writeLayer, type LayerBlob } from './layer-writer.js';

/** What buildBaseLayer needs: the accounts (and CA bundle) plus where and when. */
export interface BaseLayerOptions extends BaseFilesInput {
  store: BlobStore;
  /** mtime of every entry, seconds since the epoch. */
  sourceDateEpoch: number;
}

/** Writes the base layer (passwd, group, nsswitch.conf, CA bundle, tmp, homes) into the store. */
export function buildBaseLayer(opts: BaseLayerOptions): Promise<LayerBlob> {
  const entries = planBaseFiles(opts);
  return writeLayer(opts.store, async (pack) => {
    for (const e of entries) {
      const content = e.content === undefined ? undefined : Buffer.from(e.content, 'utf8');
      await addEntry(pack, { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: opts.sourceDateEpoch }, content);
    }
  });
}
