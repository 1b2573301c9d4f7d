/**
 * The removal lease: how a removal (`rm`, `gc`) and a push of the same repository, possibly on
 * different machines, keep a push that reports success from ending up pointing at deleted content.
 *
 * A removal announces itself in the store (a lease object on S3, a lease tag on a registry)
 * before it reads anything, renews it while it works and takes it away when its last delete is
 * done. A push writes its tags, then looks for a live lease; when there is one, it waits for it
 * to end, then checks its tags' whole closure and stores again whatever is missing, before it
 * reports success. Either the removal's read saw the push's tag (and kept what it reaches), or
 * that read came before the tag was written, so the lease was there before the tag: the push
 * sees it still there, or, when the removal ended meanwhile, sees the removal epoch changed since
 * it read it before its walk (S3: an object; a registry: a tag). A walk that fails while a removal
 * ran is walked again too (publish.ts): a registry refuses a tag whose image was deleted meanwhile.
 * A killed removal's lease stops being renewed: it is stale once its version has
 * not changed for STALE_MS (watched, so clocks need not agree) or once its own renewal time is
 * older than STALE_MS plus CLOCK_SKEW_MS (so a lease left long ago costs no wait).
 * A removal that was only stalled (a paused VM, a stopped process) must not wake up and go on
 * deleting after a push judged its lease stale: the holder fences itself. Each renewal first reads
 * the lease and writes only while it is still its own (a lease taken over is never overwritten),
 * and once its last confirmed renewal began more than FENCE_MS ago (half of STALE_MS: a watcher
 * cannot have judged it stale before) it stops for good: `guard()`, called before every delete,
 * throws from then on, and the lease is left for the next removal to take over with its journal.
 * This file holds the rules and the waiting; sink/s3 and sink/registry hold the objects.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AlbaError } from '../errors.js';
import { isDigest } from '../oci/digest.js';

/** How often a removal renews its lease. */
export const RENEW_MS = 5_000;
/** A lease not renewed for this long belongs to a removal that died. */
export const STALE_MS = 30_000;
/** A holder whose last confirmed renewal began longer ago than this deletes nothing more (see the file comment). */
export const FENCE_MS = STALE_MS / 2;
/** How far the clocks of two machines may disagree, for judging a lease by its own time. */
export const CLOCK_SKEW_MS = 120_000;
/** How long a push or a removal waits for a live lease before giving up. */
export const WAIT_MS = 15 * 60_000;
/** How often a waiter looks again. */
export const POLL_MS = 500;

/** What a lease says of itself (the JSON of the lease object, the annotations of the lease manifest). */
export interface LeaseRecord {
  id: string;
  /** Who holds it (host and pid), for messages. */
  holder: string;
  /** When it was last renewed (ISO 8601, the holder's clock). */
  renewed: string;
  /** The tags the removal is taking away (its journal: a later removal finishes them). */
  tags: string[];
  /** What it deletes that no tag may name any more (a registry's manifest digests), in order. */
  objects?: string[];
}

/** Watches a lease held by someone else: each look gives its version (ETag, digest) or undefined when it is gone. */
export class LeaseWatch {
  private seen: { version: string; since: number } | undefined;

  /** 'gone', 'stale' or 'live', given the lease's version and record at `now` (pure apart from what it saw before). */
  judge(version: string | undefined, record: LeaseRecord | undefined, now: number): 'gone' | 'stale' | 'live' {
    if (version === undefined) return 'gone';
    if (this.seen === undefined || this.seen.version !== version) this.seen = { version, since: now };
    const renewed = record === undefined ? Number.NaN : Date.parse(record.renewed);
    if (!Number.isNaN(renewed) && now - renewed > STALE_MS + CLOCK_SKEW_MS) return 'stale';
    return now - this.seen.since > STALE_MS ? 'stale' : 'live';
  }
}

/** A journal entry as a removal writes it: `TAG` or `TAG@sha256:<hex>` (removal-plan.ts journalEntry; static tags may hold `+`). */
const JOURNAL_ENTRY = /^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,127}(?:@sha256:[a-f0-9]{64})?$/;

/**
 * Parses a lease record; undefined when `value` is not one. Its journal is finished by the next
 * removal with that removal's credentials, so only entries of the shapes a removal writes count: a
 * tag, a tag with its digest, a manifest digest — never a path (`../other/manifests/…`).
 */
export function parseLeaseRecord(value: unknown): LeaseRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string' || typeof r.renewed !== 'string' || !Array.isArray(r.tags) || !r.tags.every((t) => typeof t === 'string'))
    return undefined;
  const objects = Array.isArray(r.objects) ? r.objects.filter((o): o is string => isDigest(o)) : [];
  return {
    id: r.id,
    holder: typeof r.holder === 'string' ? r.holder : '?',
    renewed: r.renewed,
    tags: (r.tags as string[]).filter((t) => JOURNAL_ENTRY.test(t)),
    ...(objects.length === 0 ? {} : { objects }),
  };
}

/** Where a lease lives: an object of a bucket, a tag of a registry (see sink/s3/removal-lease.ts, sink/registry/removal-lease.ts). */
export interface LeaseMedium {
  /** The lease's place, for messages (a key or a reference, no credentials). */
  readonly where: string;
  /** The error code of the medium (`S3`, `REGISTRY`). */
  readonly code: 'S3' | 'REGISTRY';
  /** Creates the lease when there is none (false when there is one). */
  create(record: LeaseRecord): Promise<boolean>;
  /** Writes the holder's lease again (a renewal, a journal). */
  write(record: LeaseRecord): Promise<void>;
  /** The lease there now: its version (ETag, digest) and record (undefined when unreadable), or undefined when there is none. */
  read(): Promise<{ version: string; record: LeaseRecord | undefined } | undefined>;
  /** Whether a lease is there, by a cheaper look than read() where the medium has one (S3: a HEAD); a push asks it first, as there mostly is none. */
  present?(): Promise<boolean>;
  /** Removes the lease of that version. */
  remove(version: string): Promise<void>;
  /**
   * The removal epoch, where the medium keeps one: a value every removal changes when it takes
   * the lease and again before it lets it go. A push compares it before its walk and after its
   * tags: a change means a removal ran meanwhile, even one that has already ended.
   */
  epoch?(): Promise<string | undefined>;
  /** Changes the epoch (a removal taking or letting go of the lease). */
  bumpEpoch?(): Promise<void>;
}

/** A lease this process holds. */
export interface HeldLease {
  /** What a killed removal was taking away (from the stale lease this one replaced). */
  readonly unfinished: { tags: string[]; objects: string[] };
  /** Records what this removal takes away (with the unfinished part), before its first delete. */
  journal(tags: readonly string[], objects?: readonly string[]): Promise<void>;
  /** Throws when the lease is no longer this process's (another removal took it over) or `guard()` would: call before each delete batch. */
  check(): Promise<void>;
  /** Throws, without a request, once a renewal failed or the last confirmed one is older than FENCE_MS (for good): call before every delete. */
  guard(): void;
  /**
   * Stops renewing and removes the lease (left in place once fenced: the next removal takes it over
   * and finishes the journal). Left too when the run ended `failed` holding a journal, its own or a
   * killed removal's, which would be lost with it (the next removal, stale 30 s later, finishes it),
   * or `refused` holding a killed removal's: a refusal changed nothing of its own plan.
   */
  release(outcome?: RemovalOutcome): Promise<void>;
}

/**
 * How a removal ended: `done`; `refused` before it changed anything (a tag it may not remove alone,
 * one nobody has: USAGE, TAG_SHARED); `failed` anywhere else (its deletes may have begun).
 */
export type RemovalOutcome = 'done' | 'refused' | 'failed';

/** Takes the removal lease, waiting while another removal holds a live one; a stale one is replaced and its journal taken over. */
export async function acquireLease(
  medium: LeaseMedium,
  log: (line: string) => void = () => undefined,
  /** A monotonic clock in ms (tests stall it). */
  clock: () => number = () => performance.now(),
): Promise<HeldLease> {
  const record: LeaseRecord = { id: randomUUID(), holder: `${hostname()} pid ${process.pid}`, renewed: new Date().toISOString(), tags: [] };
  const unfinished = new Set<string>();
  const unfinishedObjects: string[] = [];
  const watch = new LeaseWatch();
  const started = Date.now();
  let told = false;
  let confirmed = clock();
  let there: Awaited<ReturnType<LeaseMedium['read']>> = undefined;
  for (;;) {
    // first, so that no answer of the store (a create refused with no lease there, a lease that
    // is never ours when read back) keeps alba here
    if (Date.now() - started > WAIT_MS) throw busy(medium, there?.record);
    confirmed = clock();
    if (await medium.create({ ...record, renewed: new Date().toISOString() })) {
      await pause(50 + Math.random() * 100);
      if ((await medium.read())?.record?.id === record.id) {
        await medium.bumpEpoch?.();
        break;
      }
      continue;
    }
    there = await medium.read();
    const state = watch.judge(there?.version, there?.record, Date.now());
    if (state === 'gone') {
      await pause(50 + Math.random() * 100);
      continue;
    }
    if (state === 'stale' && there !== undefined) {
      for (const t of there.record?.tags ?? []) unfinished.add(t);
      for (const o of there.record?.objects ?? []) if (!unfinishedObjects.includes(o)) unfinishedObjects.push(o);
      log(
        `note: ${medium.where} was left by a run that stopped (${there.record?.holder ?? 'unknown'}); this run takes it over${there.record?.tags.length ? ` and finishes removing ${there.record.tags.join(', ')}` : ''}`,
      );
      await medium.remove(there.version);
      continue;
    }
    if (!told) log(`waiting: ${medium.where} is held by ${there?.record?.holder ?? 'unknown'}`);
    told = true;
    await pause(POLL_MS);
  }
  record.tags = [...unfinished].sort();
  if (unfinishedObjects.length > 0) record.objects = [...unfinishedObjects];
  let writes: Promise<void> = Promise.resolve();
  let failure: unknown;
  const fenced = (): boolean => {
    if (failure === undefined && clock() - confirmed > FENCE_MS) failure = stalled(medium, clock() - confirmed);
    return failure !== undefined;
  };
  // read, then write only over this holder's own lease; a renewal confirmed counts from when it began
  const renew = async (): Promise<void> => {
    if (fenced()) return;
    const began = clock();
    const there = await medium.read();
    if (there?.record?.id !== record.id) throw takenOver(medium, there?.record);
    await medium.write({ ...record, renewed: new Date().toISOString() });
    if (!fenced()) confirmed = began;
  };
  const write = (): Promise<void> => {
    writes = writes.then(renew).catch((err: unknown) => void (failure ??= err));
    return writes;
  };
  const guard = (): void => {
    if (fenced()) throw failure;
  };
  if (unfinished.size > 0 || unfinishedObjects.length > 0) await write();
  const timer = setInterval(() => void write(), RENEW_MS);
  timer.unref();
  return {
    unfinished: { tags: [...unfinished].sort(), objects: [...unfinishedObjects] },
    async journal(tags, objects = []) {
      record.tags = [...new Set([...record.tags, ...tags])].sort();
      const all = [...(record.objects ?? []), ...objects.filter((o) => !(record.objects ?? []).includes(o))];
      if (all.length > 0) record.objects = all;
      await write();
      guard();
    },
    async check() {
      guard();
      const there = await medium.read();
      if (there?.record?.id !== record.id) throw (failure ??= takenOver(medium, there?.record));
      guard();
    },
    guard,
    async release(outcome = 'done') {
      clearInterval(timer);
      await writes;
      if (failure !== undefined) return;
      const inherited = unfinished.size > 0 || unfinishedObjects.length > 0;
      const journalled = record.tags.length > 0 || (record.objects?.length ?? 0) > 0;
      // a journal that may name what is half-removed stays for the next removal
      if ((outcome === 'failed' && journalled) || (outcome === 'refused' && inherited)) return;
      const there = await medium.read();
      if (there?.record?.id !== record.id) return;
      // the epoch changes before the lease goes: a push that finds no lease finds the new epoch
      await medium.bumpEpoch?.();
      await medium.remove(there.version);
    },
  };
}

/**
 * For a push that has written its tags: waits while a removal holds a live lease. True when there
 * was a lease (live or stale): the push must then check its tags' closure and store what is missing.
 * A push passes the same `watch` to each of its checks, so a lease it has watched go stale is not
 * waited for again by the next one (it stays stale while its version does not change).
 */
export async function awaitRemovals(
  medium: LeaseMedium,
  log: (line: string) => void = () => undefined,
  watch = new LeaseWatch(),
): Promise<boolean> {
  const started = Date.now();
  let seen = false;
  for (;;) {
    const there = (await medium.present?.()) === false ? undefined : await medium.read();
    const state = watch.judge(there?.version, there?.record, Date.now());
    if (state !== 'live') return seen || state === 'stale';
    if (!seen)
      log(
        `waiting: ${medium.where}: a removal is running (${there?.record?.holder ?? 'unknown'}); the push checks its content once it ends`,
      );
    seen = true;
    if (Date.now() - started > WAIT_MS) throw busy(medium, there?.record, true);
    await pause(POLL_MS);
  }
}

function takenOver(medium: LeaseMedium, by: LeaseRecord | undefined): AlbaError {
  return new AlbaError(
    medium.code,
    `${medium.where}: this removal's lease was taken over by ${by?.holder ?? 'nobody'} (this run was stalled for over ${STALE_MS / 1000} s); it stopped before deleting more`,
    { hint: 'run the removal again: it finishes what this one started' },
  );
}

function stalled(medium: LeaseMedium, ms: number): AlbaError {
  return new AlbaError(
    medium.code,
    `${medium.where}: this run's lease was last renewed ${Math.round(ms / 1000)} s ago (the machine or the store stalled), so another run may have judged it stale; it stopped before deleting more`,
    { hint: 'run the removal again: it takes the lease over and finishes what this one started' },
  );
}

function busy(medium: LeaseMedium, record: LeaseRecord | undefined, push = false): AlbaError {
  return new AlbaError(
    medium.code,
    `${medium.where}: a removal (${record?.holder ?? 'unknown'}) has held the lease for over ${WAIT_MS / 60_000} minutes`,
    {
      hint: push
        ? 'the tags are written but their content may be incomplete: run the push again once the removal ends'
        : 'if no removal is running, delete the lease and run again',
    },
  );
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * For a push that has written its tags, given the removal epoch it read before its walk: waits
 * while a removal holds a live lease, then tells whether a removal ran since that read (a lease
 * was there, or the epoch changed: one started, or ended, meanwhile), with the epoch now. When
 * one ran, the push must check its tags' closure again and store what is missing.
 */
export async function removalsSince(
  medium: LeaseMedium,
  before: string | undefined,
  log: (line: string) => void = () => undefined,
  watch = new LeaseWatch(),
): Promise<{ ran: boolean; epoch: string | undefined }> {
  const waited = await awaitRemovals(medium, log, watch);
  const epoch = await medium.epoch?.();
  return { ran: waited || epoch !== before, epoch };
}
