import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { memoryBlob, type Blob, type ImageGraph } from '../../src/oci/graph.js';
import { digestOf } from '../../src/oci/digest.js';
import { imageIndexBlob } from '../../src/oci/image-index.js';
import { jsonBlob } from '../../src/oci/json.js';
import { EMPTY_DESCRIPTOR, EMPTY_JSON_BYTES, imageManifestBlob } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor, Platform } from '../../src/oci/types.js';
import { sbomReferrer } from '../../src/sbom/referrer.js';
import { publish } from '../../src/sink/publish.js';
import type { Sink, StoreOutcome } from '../../src/sink/sink.js';

// The publish walk's order, checked by a sink that records every call as it begins and ends and,
// at each call, checks what must already be stored: a manifest's config, layers, children and
// subject; a referrers link's subject and referrers; for a tag, everything, with nothing in flight.
// Each call takes a few event-loop turns (a number derived from its digest), so calls the walk
// runs together interleave: a parent started before its child ended is seen.

const PLATFORMS: Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

/** Three images sharing a base layer (each with its own layer and config), an index, an SBOM referrer of the index and of each image. */
function fixtureGraph(): ImageGraph {
  const layer = (text: string): Blob => {
    const bytes = Buffer.from(text);
    return memoryBlob({ bytes, descriptor: { mediaType: MediaType.layerGzip, digest: digestOf(bytes), size: bytes.length } });
  };
  const base = layer('base layer, shared by every platform');
  const images = PLATFORMS.map((platform) => {
    const own = layer(`layer of ${platform.architecture}`);
    const config = memoryBlob(
      jsonBlob({ architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers' } }, MediaType.config),
    );
    const manifest = memoryBlob(imageManifestBlob({ config: config.descriptor, layers: [base.descriptor, own.descriptor] }, platform));
    return { manifest, blobs: [config, base, own] };
  });
  const root = memoryBlob(imageIndexBlob({ manifests: images.map((i) => i.manifest.descriptor) }));
  const empty = memoryBlob({ bytes: EMPTY_JSON_BYTES, descriptor: EMPTY_DESCRIPTOR });
  const referrers = [root, ...images.map((i) => i.manifest)].map((subject, n) => {
    const r = sbomReferrer({
      sbom: Buffer.from(`{"spdx":${n}}`),
      subject: subject.descriptor,
      created: 1_700_000_000,
      title: `${n}.spdx.json`,
    });
    return { manifest: memoryBlob(r.manifest), blobs: [empty, memoryBlob(r.sbom)], subject: subject.descriptor };
  });
  return { root, images, referrers };
}

/** The descriptors a manifest or index names: config, layers, children, subject. */
function referenced(blob: Blob): Descriptor[] {
  const json = JSON.parse(blob.bytes!.toString('utf8')) as {
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
    subject?: Descriptor;
  };
  return [json.config, ...(json.layers ?? []), ...(json.manifests ?? []), json.subject].filter((d): d is Descriptor => d !== undefined);
}

/** Every digest of the graph: blobs, manifests, the root, referrers and their blobs. */
function allDigests(graph: ImageGraph): Set<string> {
  const nodes = [...graph.images, ...graph.referrers];
  return new Set([graph.root, ...nodes.flatMap((n) => [n.manifest, ...n.blobs])].map((b) => b.descriptor.digest));
}

/** A sink in memory that records the walk and notes every call that comes too early. */
class RecordingSink implements Sink {
  readonly name = 'recording';
  /** `begin|end <op> <what>`, in order. */
  readonly log: string[] = [];
  /** Calls that came before what they need was stored. */
  readonly violations: string[] = [];
  /** Digests whose put has ended. */
  readonly stored = new Set<string>();
  readonly puts: string[] = [];
  readonly linked = new Set<string>();
  readonly tagged: string[] = [];
  private inFlight = 0;

  constructor(
    private readonly graph: ImageGraph,
    /** Digests the sink holds complete from the start (with everything they reference). */
    private readonly held: ReadonlySet<string> = new Set(),
  ) {}

  async holdsComplete(d: Descriptor): Promise<boolean> {
    return this.held.has(d.digest);
  }

  putBlob(blob: Blob): Promise<StoreOutcome> {
    return this.put('blob', blob, []);
  }

  putManifest(blob: Blob): Promise<StoreOutcome> {
    return this.put('manifest', blob, referenced(blob));
  }

  async linkReferrers(subject: Descriptor, referrers: readonly Descriptor[]): Promise<void> {
    await this.call(`link ${subject.digest}`, () => {
      for (const d of [subject, ...referrers])
        if (!this.has(d.digest)) this.violations.push(`link of ${subject.digest} before ${d.digest} was stored`);
      if (this.tagged.length > 0) this.violations.push(`link of ${subject.digest} after tag ${this.tagged[0]}`);
    });
    this.linked.add(subject.digest);
  }

  async tag(tag: string, root: Blob): Promise<StoreOutcome> {
    await this.call(`tag ${tag}`, () => {
      if (this.inFlight !== 1) this.violations.push(`tag ${tag} while ${this.inFlight - 1} other calls were in flight`);
      for (const digest of allDigests(this.graph)) if (!this.has(digest)) this.violations.push(`tag ${tag} before ${digest} was stored`);
      for (const r of this.graph.referrers)
        if (!this.linked.has(r.subject.digest)) this.violations.push(`tag ${tag} before the referrers of ${r.subject.digest} were linked`);
      if (root.descriptor.digest !== this.graph.root.descriptor.digest)
        this.violations.push(`tag ${tag} names ${root.descriptor.digest}, not the root`);
    });
    this.tagged.push(tag);
    return 'sent';
  }

  async finish(ok: boolean): Promise<void> {
    if (this.inFlight !== 0) this.violations.push(`finish while ${this.inFlight} calls were in flight`);
    this.log.push(`finish ${ok}`);
  }

  private has(digest: string): boolean {
    return this.stored.has(digest) || this.held.has(digest);
  }

  private async put(kind: string, blob: Blob, needs: Descriptor[]): Promise<StoreOutcome> {
    const { digest } = blob.descriptor;
    await this.call(`${kind} ${digest}`, () => {
      for (const d of needs) if (!this.has(d.digest)) this.violations.push(`${kind} ${digest} before ${d.digest} was stored`);
      if (this.linked.size > 0 || this.tagged.length > 0) this.violations.push(`${kind} ${digest} after a link or a tag`);
    });
    this.puts.push(digest);
    this.stored.add(digest);
    return 'sent';
  }

  /** Checks, then takes a few turns of the event loop (so calls run together interleave, or `turns`), then ends. */
  protected async call(
    what: string,
    check: () => void,
    turns = 1 + (parseInt(what.replace(/^.*sha256:/, '').slice(0, 2), 16) % 7 || 0),
  ): Promise<void> {
    this.inFlight++;
    this.log.push(`begin ${what}`);
    check();
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
    this.log.push(`end ${what}`);
    this.inFlight--;
  }
}

describe('the publish walk', () => {
  for (const concurrency of [1, 8]) {
    test(`children before parents, referrers after their subject, links before tags, tags last (concurrency ${concurrency})`, async () => {
      const graph = fixtureGraph();
      const sink = new RecordingSink(graph);
      const result = await publish(graph, sink, ['1.0', 'latest'], { concurrency });
      assert.deepEqual(sink.violations, [], sink.log.join('\n'));
      assert.deepEqual([...sink.puts].sort(), [...allDigests(graph)].sort(), 'every node stored, each once');
      assert.deepEqual(
        [...sink.linked].sort(),
        [graph.root, ...graph.images.map((i) => i.manifest)].map((b) => b.descriptor.digest).sort(),
        'the referrers of every subject linked',
      );
      assert.deepEqual(sink.tagged, ['1.0', 'latest']);
      assert.deepEqual(
        sink.log.slice(-5),
        ['begin tag 1.0', 'end tag 1.0', 'begin tag latest', 'end tag latest', 'finish true'],
        'the tags, one after the other, are the last calls',
      );
      assert.deepEqual(result.manifests, { sent: 1 + PLATFORMS.length + graph.referrers.length, skipped: 0, mounted: 0 });
    });
  }

  test('a sink that holds the image complete is asked for the missing referrers only, still before links and tags', async () => {
    const graph = fixtureGraph();
    const imageClosure: string[] = [graph.root, ...graph.images.flatMap((i) => [i.manifest, ...i.blobs])].map((b) => b.descriptor.digest);
    const sink = new RecordingSink(graph, new Set(imageClosure));
    const result = await publish(graph, sink, ['2.0']);
    assert.deepEqual(sink.violations, [], sink.log.join('\n'));
    assert.ok(
      sink.puts.every((d) => !imageClosure.includes(d)),
      `nothing of the held image is stored again: ${sink.puts.join(' ')}`,
    );
    assert.equal(result.manifests.sent, graph.referrers.length, 'the referrer manifests are stored');
    assert.equal(sink.linked.size, 1 + PLATFORMS.length);
    assert.deepEqual(sink.tagged, ['2.0']);
  });

  test("what the tags need (a registry's push records) is linked with the root's referrers, in one link of the root, before the tags", async () => {
    /** Stores one record per tag, as a registry's sink does, and notes every link. */
    class TaggingSink extends RecordingSink {
      readonly links: { subject: string; referrers: string[] }[] = [];
      async tagReferrers(tags: readonly string[], root: Descriptor): Promise<Descriptor[]> {
        return tags.map((tag) => {
          const record = { mediaType: MediaType.manifest, digest: digestOf(Buffer.from(`${root.digest} ${tag}`)), size: 1 };
          this.stored.add(record.digest);
          return record;
        });
      }
      override async linkReferrers(subject: Descriptor, referrers: readonly Descriptor[]): Promise<void> {
        this.links.push({ subject: subject.digest, referrers: referrers.map((d) => d.digest) });
        await super.linkReferrers(subject, referrers);
      }
    }
    const graph = fixtureGraph();
    const sink = new TaggingSink(graph);
    await publish(graph, sink, ['1.0', 'latest']);
    assert.deepEqual(sink.violations, [], sink.log.join('\n'));
    const root = graph.root.descriptor.digest;
    const rootLinks = sink.links.filter((l) => l.subject === root);
    assert.equal(rootLinks.length, 1, `the root is linked once: ${JSON.stringify(sink.links)}`);
    const records = ['1.0', 'latest'].map((tag) => digestOf(Buffer.from(`${root} ${tag}`)));
    const sboms = graph.referrers.filter((r) => r.subject.digest === root).map((r) => r.manifest.descriptor.digest);
    assert.deepEqual(rootLinks[0]!.referrers, [...sboms, ...records], "the root's referrers, then the records");
    assert.deepEqual(sink.tagged, ['1.0', 'latest']);
  });

  test('a link that fails first still lets what the tags need end before the sink is told (nothing in flight at finish)', async () => {
    /** Its first link fails; its tag referrers take several turns of the event loop, counted as calls in flight. */
    class FailingLinkSink extends RecordingSink {
      async tagReferrers(_tags: readonly string[], root: Descriptor): Promise<Descriptor[]> {
        await this.call(`tag referrers ${root.digest}`, () => undefined, 20);
        return [];
      }
      override async linkReferrers(subject: Descriptor): Promise<void> {
        throw new Error(`link of ${subject.digest} failed`);
      }
    }
    const fixture = fixtureGraph();
    // the root's referrers last: with one link at a time, the root's link (which waits for the tag referrers) never starts
    const root = fixture.root.descriptor.digest;
    const graph = {
      ...fixture,
      referrers: [...fixture.referrers].sort((a, b) => Number(a.subject.digest === root) - Number(b.subject.digest === root)),
    };
    const sink = new FailingLinkSink(graph);
    await assert.rejects(publish(graph, sink, ['1.0'], { concurrency: 1 }), /link of .* failed/);
    assert.deepEqual(sink.violations, [], sink.log.join('\n'));
    assert.equal(sink.log.at(-1), 'finish false');
    assert.deepEqual(sink.tagged, [], 'no tag');
  });

  test('the recording sink sees a parent stored before its child (it would catch a broken walk)', async () => {
    // the checks themselves: a sink driven in the wrong order must report it
    const graph = fixtureGraph();
    const sink = new RecordingSink(graph);
    await sink.putManifest(graph.root);
    await sink.tag('early', graph.root);
    await sink.linkReferrers(graph.root.descriptor, [graph.referrers[0]!.manifest.descriptor]);
    assert.ok(
      sink.violations.some((v) =>
        v.startsWith(`manifest ${graph.root.descriptor.digest} before ${graph.images[0]!.manifest.descriptor.digest}`),
      ),
      sink.violations.join('\n'),
    );
    assert.ok(sink.violations.some((v) => v.startsWith('tag early before')));
    assert.ok(sink.violations.some((v) => v.includes('after tag early')));
  });
});

describe('publish and a removal that ran during the walk', () => {
  /** Holds the image complete when the walk starts; a removal takes it away and ends (the epoch moves from e1 to e2, no lease left). */
  class RacedSink extends RecordingSink {
    epoch = 'e1';
    asked: (string | undefined)[] = [];
    async removalEpoch(): Promise<string | undefined> {
      return this.epoch;
    }
    async removalsSince(before: string | undefined): Promise<{ ran: boolean; epoch: string | undefined }> {
      this.asked.push(before);
      if (this.asked.length === 1) this.epoch = 'e2'; // the removal started after removalEpoch() and ended before this call
      return { ran: this.epoch !== before, epoch: this.epoch };
    }
  }

  test('an epoch that changed, with no lease left, makes the walk store everything again; an unchanged one stops it', async () => {
    const graph = fixtureGraph();
    const imageClosure: string[] = [graph.root, ...graph.images.flatMap((i) => [i.manifest, ...i.blobs])].map((b) => b.descriptor.digest);
    const sink = new RacedSink(graph, new Set(imageClosure));
    await publish(graph, sink, ['2.0']);
    assert.deepEqual(sink.asked, ['e1', 'e2'], 'asked with the epoch read before the walk, then with the new one');
    for (const d of imageClosure) assert.ok(sink.puts.includes(d), `${d} is stored again after the removal`);
    assert.deepEqual(sink.tagged, ['2.0', '2.0']);
  });

  /** A registry: the removal deleted the image the walk found held, so the first tag is refused; `raced`: the epoch moved meanwhile. */
  class RefusingSink extends RacedSink {
    refused = 0;
    constructor(
      graph: ImageGraph,
      held: ReadonlySet<string>,
      private readonly raced: boolean,
      /** Whether the sink says a removal can cause the refusal (a registry's MANIFEST_BLOB_UNKNOWN does). */
      private readonly removalCause = true,
    ) {
      super(graph, held);
    }
    removalCanCause(err: unknown): boolean {
      return this.removalCause && err instanceof Error && err.message.includes('MANIFEST_BLOB_UNKNOWN');
    }
    override async tag(tag: string, root: Blob): Promise<StoreOutcome> {
      if (this.tagged.length === 0 && this.refused === 0) {
        this.refused++;
        throw new Error('400 MANIFEST_BLOB_UNKNOWN');
      }
      return super.tag(tag, root);
    }
    override async removalsSince(before: string | undefined): Promise<{ ran: boolean; epoch: string | undefined }> {
      if (!this.raced) {
        this.asked.push(before);
        return { ran: false, epoch: this.epoch };
      }
      return super.removalsSince(before);
    }
  }

  test('a walk refused by the store while a removal ran (its tag named content the removal deleted) goes again, storing everything', async () => {
    const graph = fixtureGraph();
    const imageClosure: string[] = [graph.root, ...graph.images.flatMap((i) => [i.manifest, ...i.blobs])].map((b) => b.descriptor.digest);
    const sink = new RefusingSink(graph, new Set(imageClosure), true);
    const result = await publish(graph, sink, ['2.0']);
    assert.equal(sink.refused, 1);
    assert.deepEqual(sink.asked, ['e1', 'e2'], 'the failure asked with the epoch read before the walk; the second walk with the new one');
    for (const d of imageClosure) assert.ok(sink.puts.includes(d), `${d} is stored again after the removal`);
    assert.deepEqual(sink.tagged, ['2.0']);
    assert.ok(result.blobs.sent > 0, 'the counts are the walk that ended');
  });

  test('a walk that fails with no removal since is thrown as it came, and not walked again', async () => {
    const graph = fixtureGraph();
    const imageClosure: string[] = [graph.root, ...graph.images.flatMap((i) => [i.manifest, ...i.blobs])].map((b) => b.descriptor.digest);
    const sink = new RefusingSink(graph, new Set(imageClosure), false);
    await assert.rejects(publish(graph, sink, ['2.0']), /MANIFEST_BLOB_UNKNOWN/);
    assert.deepEqual(sink.asked, ['e1']);
    assert.deepEqual(
      sink.puts.filter((d) => imageClosure.includes(d)),
      [],
      'nothing of the image stored: it was held, and no second walk went',
    );
    assert.deepEqual(
      sink.log.filter((l) => l.startsWith('finish')),
      ['finish false'],
    );
  });

  test('a failure no removal can cause (the sink says so) is thrown at once, even with a removal since: no check, no second walk', async () => {
    const graph = fixtureGraph();
    const imageClosure: string[] = [graph.root, ...graph.images.flatMap((i) => [i.manifest, ...i.blobs])].map((b) => b.descriptor.digest);
    const sink = new RefusingSink(graph, new Set(imageClosure), true, false);
    await assert.rejects(publish(graph, sink, ['2.0']), /MANIFEST_BLOB_UNKNOWN/);
    assert.deepEqual(sink.asked, [], 'removalsSince was not asked');
    assert.deepEqual(sink.tagged, []);
  });

  test("each walk's finish (an S3 bucket's tags/list and pages) goes out beside the removal check, which still sends the walk again", async () => {
    /** Its finish waits (at most 2 s) for the removal check of its round. */
    class OverlapSink extends RacedSink {
      readonly overlapped: boolean[] = [];
      private checks = 0;
      private checked: () => void = () => undefined;
      override async removalsSince(before: string | undefined): Promise<{ ran: boolean; epoch: string | undefined }> {
        this.checks++;
        this.checked();
        return super.removalsSince(before);
      }
      override async finish(ok: boolean): Promise<void> {
        const round = this.overlapped.length;
        const started = (): boolean => this.checks > round;
        const check = new Promise<boolean>((resolve) => (this.checked = () => started() && resolve(true)));
        this.overlapped.push(started() || (await Promise.race([check, delay(2000, false)])));
        return super.finish(ok);
      }
    }
    const graph = fixtureGraph();
    const imageClosure: string[] = [graph.root, ...graph.images.flatMap((i) => [i.manifest, ...i.blobs])].map((b) => b.descriptor.digest);
    const sink = new OverlapSink(graph, new Set(imageClosure));
    await publish(graph, sink, ['2.0']);
    assert.deepEqual(sink.asked, ['e1', 'e2']);
    assert.deepEqual(sink.tagged, ['2.0', '2.0'], 'walked again after the removal');
    assert.deepEqual(sink.overlapped, [true, true], 'each finish beside its round of the check');
  });
});
