/**
 * Stanza offsets by package name for an index of 60k stanzas, in typed arrays: a name is kept as
 * a 32-bit hash (FNV-1a over its UTF-16 code units), so adding a stanza stores no string and no
 * map entry. A lookup gives the offsets of every stanza whose name hashes alike; the caller reads
 * those stanzas and keeps the ones that really have the name.
 */
export class NameIndex {
  /** Per bucket: 1 + the first entry of its chain, or 0. */
  private buckets = new Int32Array(1 << 14);
  private hashes = new Uint32Array(1 << 14);
  private offsets = new Float64Array(1 << 14);
  /** Per entry: 1 + the next entry of its bucket's chain, or 0. */
  private next = new Int32Array(1 << 14);
  /** Entries in stanza order. */
  private count = 0;

  /** Records that the stanza at `offset` is of package `name`. */
  add(name: string, offset: number): void {
    if (this.count === this.hashes.length) this.grow();
    const hash = hashName(name);
    const entry = this.count++;
    this.hashes[entry] = hash;
    this.offsets[entry] = offset;
    this.link(entry, hash);
  }

  /** Offsets of the stanzas whose name may be `name`, in stanza order. */
  candidates(name: string): number[] {
    const hash = hashName(name);
    const found: number[] = [];
    for (let e = this.buckets[hash & (this.buckets.length - 1)]!; e !== 0; e = this.next[e - 1]!) {
      if (this.hashes[e - 1] === hash) found.push(this.offsets[e - 1]!);
    }
    return found.sort((a, b) => a - b);
  }

  /** Every stanza's offset, in stanza order. */
  all(): number[] {
    return Array.from(this.offsets.subarray(0, this.count));
  }

  private link(entry: number, hash: number): void {
    const bucket = hash & (this.buckets.length - 1);
    this.next[entry] = this.buckets[bucket]!;
    this.buckets[bucket] = entry + 1;
  }

  private grow(): void {
    const size = this.hashes.length * 2;
    const hashes = new Uint32Array(size);
    hashes.set(this.hashes);
    const offsets = new Float64Array(size);
    offsets.set(this.offsets);
    this.hashes = hashes;
    this.offsets = offsets;
    this.next = new Int32Array(size);
    this.buckets = new Int32Array(size);
    for (let e = 0; e < this.count; e++) this.link(e, this.hashes[e]!);
  }
}

function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
