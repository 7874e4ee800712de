/**
 * OCI 1.1 referrers: the artifacts (signatures, attestations) whose manifest `subject` names
 * another manifest. Read through the referrers API when the store has one, else through the
 * referrers tag schema: an image index tagged `sha256-<hex>` of the subject digest.
 *
 * The listing is untrusted: every entry's manifest is fetched (re-hashed) and kept only when
 * its own `subject` names the subject asked for. Writing the fallback index is a
 * read-modify-write on a registry that ignores If-Match, so every write is read back and
 * retried until the entry is present and stays present.
 */
import { ioFailure, isVouchError, VouchError } from '../errors.js';
import { assertDigest } from './digest.js';
import { LayoutStore } from './layout.js';
import { MediaType, type Descriptor, type FetchedManifest, type ImageIndex, type Store } from './types.js';

/** At most this many referrers per subject are read or written. */
export const MAX_REFERRERS = 1000;
const READ_CONCURRENCY = 8;
const WRITE_MAX_ATTEMPTS = 50;
const WRITE_DEADLINE_MS = 30_000;

export interface ListReferrersOptions {
  /** Keep only referrers of this artifact type. */
  artifactType?: string;
}

/** One verified referrer: its descriptor (as listed, completed from the manifest) and manifest. */
export interface Referrer {
  descriptor: Descriptor;
  fetched: FetchedManifest;
}

/** The referrers tag schema: `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTag(subjectDigest: string): string {
  return assertDigest(subjectDigest, 'subject digest').replace(':', '-');
}

/** Descriptors of the referrers of `subject` whose manifest really names it. */
export async function listReferrers(
  store: Store,
  subject: Descriptor | string,
  opts: ListReferrersOptions = {},
): Promise<Descriptor[]> {
  return (await listReferrerManifests(store, subject, opts)).map((r) => r.descriptor);
}

/** As listReferrers, with each referrer's fetched (verified) manifest. */
export async function listReferrerManifests(
  store: Store,
  subject: Descriptor | string,
  opts: ListReferrersOptions = {},
): Promise<Referrer[]> {
  const subjectDigest = assertDigest(
    typeof subject === 'string' ? subject : subject.digest,
    'subject digest',
  );
  let entries = await store.referrersApi(subjectDigest, opts.artifactType);
  if (entries === undefined) entries = (await readFallbackIndex(store, subjectDigest))?.manifests ?? [];
  if (entries.length > MAX_REFERRERS) throw tooMany(store, subjectDigest, entries.length);
  const unique = [...new Map(entries.map((e) => [e.digest, e])).values()];
  const found = await mapLimit(unique, READ_CONCURRENCY, async (entry): Promise<Referrer | undefined> => {
    let fetched: FetchedManifest;
    try {
      fetched = await store.fetchManifest({
        mediaType: entry.mediaType,
        digest: entry.digest,
        size: entry.size,
      });
    } catch (err) {
      // A listed referrer that was deleted since is not a referrer; anything else is an error.
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (fetched.manifest.subject?.digest !== subjectDigest) return undefined;
    const descriptor = describeReferrer(entry, fetched);
    if (opts.artifactType !== undefined && descriptor.artifactType !== opts.artifactType) return undefined;
    return { descriptor, fetched };
  });
  return found.filter((r): r is Referrer => r !== undefined);
}

/**
 * Records `referrer` as a referrer of `subject`. With a referrers API the registry indexes the
 * manifest's `subject` itself; otherwise the fallback index is updated (and verified).
 */
export async function addReferrer(store: Store, subject: Descriptor, referrer: Descriptor): Promise<void> {
  await addReferrers(store, subject, [referrer]);
}

/** addReferrer for several referrers of one subject, in one fallback-index write. */
export async function addReferrers(
  store: Store,
  subject: Descriptor,
  referrers: Descriptor[],
): Promise<void> {
  const subjectDigest = assertDigest(subject.digest, 'subject digest');
  if (referrers.length === 0) return;
  if ((await store.referrersApi(subjectDigest)) !== undefined) return;
  await coalesced(store, subjectDigest, referrers);
}

// ---------------------------------------------------------------------------------------------
// Fallback index writes. Writers in this process that target the same index are coalesced
// into one batch (so they cannot overwrite each other). A layout then updates the index under
// its lock file, which also excludes other processes. On a registry, writers in other
// processes are caught by the read-back, which must see the entry twice, a settle interval
// apart, because another writer that read the index before our PUT may still overwrite it
// just after.

interface Pending {
  entries: Descriptor[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

const queues = new Map<string, Pending[]>();

function coalesced(store: Store, subjectDigest: string, entries: Descriptor[]): Promise<void> {
  const key = `${store.name}\n${subjectDigest}`;
  return new Promise<void>((resolve, reject) => {
    const queue = queues.get(key);
    const pending = { entries, resolve, reject };
    if (queue) {
      queue.push(pending);
      return;
    }
    const fresh: Pending[] = [pending];
    queues.set(key, fresh);
    void drain(key, fresh, store, subjectDigest);
  });
}

async function drain(key: string, queue: Pending[], store: Store, subjectDigest: string): Promise<void> {
  while (queue.length > 0) {
    const batch = queue.splice(0);
    try {
      await writeFallbackEntries(
        store,
        subjectDigest,
        batch.flatMap((p) => p.entries),
      );
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
  queues.delete(key);
}

async function writeFallbackEntries(
  store: Store,
  subjectDigest: string,
  wanted: Descriptor[],
): Promise<void> {
  const tag = referrersTag(subjectDigest);
  if (store instanceof LayoutStore) {
    // A layout updates the index atomically under its lock: no read-back needed.
    await store.updateTaggedIndex(tag, (current) => {
      if (current && !Array.isArray(current.manifests)) throw invalidFallbackIndex(store, subjectDigest);
      const index = current ? { ...current, manifests: [...current.manifests] } : emptyIndex();
      const have = new Set(index.manifests.map((m) => m.digest));
      const missing = wanted.filter((w) => !have.has(w.digest));
      if (missing.length === 0) return undefined;
      if (index.manifests.length + missing.length > MAX_REFERRERS) {
        throw tooMany(store, subjectDigest, index.manifests.length + missing.length);
      }
      index.manifests.push(...missing.map(indexEntry));
      return index;
    });
    return;
  }
  const deadline = Date.now() + WRITE_DEADLINE_MS;
  let confirmations = 0;
  let lastError: unknown;
  let roundTripMs = 0;
  for (let attempt = 1; attempt <= WRITE_MAX_ATTEMPTS && Date.now() < deadline; attempt++) {
    const started = Date.now();
    let index: ImageIndex;
    try {
      index = (await readFallbackIndex(store, subjectDigest)) ?? emptyIndex();
    } catch (err) {
      // A concurrent writer can leave the tag half-written (the registry answers 500
      // "invalid checksum digest format"); wait and read again.
      if (!isRetryable(err)) throw err;
      lastError = err;
      confirmations = 0;
      await sleep(backoff(attempt));
      continue;
    }
    const have = new Set(index.manifests.map((m) => m.digest));
    const missing = wanted.filter((w) => !have.has(w.digest));
    if (missing.length === 0) {
      if (++confirmations >= 2) return;
      await sleep(settle(roundTripMs));
      continue;
    }
    confirmations = 0;
    if (index.manifests.length + missing.length > MAX_REFERRERS) {
      throw tooMany(store, subjectDigest, index.manifests.length + missing.length);
    }
    index.manifests.push(...missing.map(indexEntry));
    const bytes = Buffer.from(JSON.stringify(index));
    try {
      await store.pushManifest(bytes, MediaType.ociIndex, tag);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      lastError = err;
    }
    roundTripMs = Date.now() - started;
    // Count this write as the first confirmation only after reading it back.
    await sleep(settle(roundTripMs));
  }
  throw ioFailure(
    'REFERRERS_INDEX_CONFLICT',
    `could not record the referrer in ${store.name}:${tag} after ${WRITE_MAX_ATTEMPTS} attempts: concurrent writers kept overwriting it`,
    'retry the command; if it persists, check for a process rewriting the referrers tag',
    lastError,
  );
}

/** The fallback index of `subjectDigest`, or undefined when the tag does not exist. */
export async function readFallbackIndex(
  store: Store,
  subjectDigest: string,
): Promise<ImageIndex | undefined> {
  let fetched: FetchedManifest;
  try {
    fetched = await store.fetchManifest(referrersTag(subjectDigest));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const index = fetched.manifest as ImageIndex;
  if (!Array.isArray(index.manifests)) throw invalidFallbackIndex(store, subjectDigest);
  return { ...index, manifests: [...index.manifests] };
}

function indexEntry(d: Descriptor): Descriptor {
  const e: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType) e.artifactType = d.artifactType;
  if (d.annotations && Object.keys(d.annotations).length > 0) e.annotations = { ...d.annotations };
  return e;
}

/**
 * The descriptor of a verified referrer. artifactType and annotations come from the manifest
 * (bound to the digest) when it has them; the index entry's copy is only a fallback.
 */
function describeReferrer(entry: Descriptor, fetched: FetchedManifest): Descriptor {
  const m = fetched.manifest;
  const d: Descriptor = {
    mediaType: fetched.descriptor.mediaType || entry.mediaType,
    digest: entry.digest,
    size: fetched.bytes.length,
  };
  const artifactType = m.artifactType ?? ('config' in m && m.config ? m.config.mediaType : undefined);
  if (artifactType ?? entry.artifactType) d.artifactType = artifactType ?? entry.artifactType;
  const annotations = m.annotations ?? entry.annotations;
  if (annotations && Object.keys(annotations).length > 0) d.annotations = { ...annotations };
  return d;
}

/** True when the error says the manifest or blob does not exist (HTTP 404 or a missing file). */
export function isNotFound(err: unknown): boolean {
  if (!isVouchError(err)) return false;
  if (err.details?.status === 404) return true;
  return /NOT_FOUND$|^NOT_FOUND|UNKNOWN$/.test(err.code);
}

function isRetryable(err: unknown): boolean {
  if (!isVouchError(err)) return true;
  return err.exitCode === 3 && err.code !== 'DIGEST_MISMATCH' && err.code !== 'REFERRERS_INDEX_INVALID';
}

function invalidFallbackIndex(store: Store, subjectDigest: string): VouchError {
  return ioFailure(
    'REFERRERS_INDEX_INVALID',
    `${store.name}:${referrersTag(subjectDigest)} is not an image index`,
    'the referrers tag was overwritten with something else; remove or repair it',
  );
}

function tooMany(store: Store, subjectDigest: string, n: number): VouchError {
  return ioFailure(
    'TOO_MANY_REFERRERS',
    `${store.name} lists ${n} referrers for ${subjectDigest}, more than the ${MAX_REFERRERS} allowed`,
    'the referrers index was flooded; clean it up before trusting this image',
  );
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

function backoff(attempt: number): number {
  return Math.min(1000, 20 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
}

/**
 * How long to wait before re-reading the index: longer than another writer's read-to-write
 * window, which is about one round trip of ours (slower under load, hence the margin).
 */
function settle(roundTripMs: number): number {
  return Math.min(5000, 50 + 3 * roundTripMs + Math.random() * 100);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure stops new work. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  const settled = await Promise.allSettled(workers);
  const firstFailure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (firstFailure) throw firstFailure.reason;
  return results;
}
