/**
 * Copies a manifest or index, every child, and every referrer (recursively) from any store to
 * any store, byte for byte, so that every digest is the same at the destination.
 *
 * Order is what makes a copy safe to interrupt: blobs, then child manifests, then the root
 * manifest by digest, then referrers (their blobs, manifests and fallback-index entries),
 * then the caller's last check (`beforeTag`), and the destination tag last of all. A failure
 * anywhere before the tag leaves the destination tag exactly as it was; a re-run skips what is
 * already there.
 */
import { Readable } from 'node:stream';
import { badInput, ioFailure } from '../errors.js';
import { assertDigest, digestMismatch, digestOf, sameVerification } from './digest.js';
import { openStore } from './open.js';
import { addReferrers, listReferrerManifests, mapLimit } from './referrers.js';
import type {
  CopyOptions,
  CopyProgress,
  CopyResult,
  Descriptor,
  FetchedManifest,
  ImageIndex,
  ImageManifest,
  Reference,
  RegistryOptions,
  Store,
} from './types.js';

/** Caps on what one copy walks (an untrusted source could describe an endless graph). */
export const MAX_COPY_MANIFESTS = 10_000;
export const MAX_COPY_BLOBS = 100_000;
const DEFAULT_CONCURRENCY = 4;
/**
 * Read-ahead per blob in flight. The source socket keeps streaming while the destination
 * socket is blocked, and vice versa: registry to registry on loopback (2 cores), a 256 MiB
 * layer copied about a third faster with 4 MiB than with the streams' own buffers, for at
 * most concurrency × 4 MiB of memory.
 */
const COPY_BUFFER_BYTES = 4 * 1024 * 1024;

interface Graph {
  /** Manifests in push order: children before their parents. */
  manifests: FetchedManifest[];
  blobs: Map<string, Descriptor>;
}

interface ReferrerGroup {
  subject: Descriptor;
  referrers: Descriptor[];
}

export async function copy(
  src: Store,
  srcReference: string,
  dst: Store,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  // Resolve once; everything after uses the digest (a tag moved meanwhile changes nothing).
  const root = await src.fetchManifest(srcReference);
  const seen = new Set<string>();
  const main: Graph = { manifests: [], blobs: new Map() };
  await walk(src, root, main, seen);

  const refGraph: Graph = { manifests: [], blobs: new Map() };
  const groups: ReferrerGroup[] = [];
  if (opts.referrers !== false) await walkReferrers(src, main.manifests, refGraph, groups, seen);

  const totalBlobs = main.blobs.size + [...refGraph.blobs.keys()].filter((d) => !main.blobs.has(d)).length;
  const progress: CopyProgress = { phase: 'blobs', bytes: 0, blobsDone: 0, blobsTotal: totalBlobs };
  const report = (phase: CopyProgress['phase']): void => {
    progress.phase = phase;
    opts.onProgress?.({ ...progress });
  };
  const blobs = { copied: 0, mounted: 0, skipped: 0, bytes: 0 };
  const done = new Set<string>();
  const copyBlobs = async (list: Descriptor[]): Promise<void> => {
    await mapLimit(
      list.filter((d) => !done.has(d.digest)),
      concurrency,
      async (d) => {
        done.add(d.digest);
        const how = await copyBlob(
          src,
          dst,
          d,
          opts.onProgress
            ? (n) => {
                progress.bytes += n;
                report('blobs');
              }
            : undefined,
        );
        blobs[how]++;
        if (how === 'copied') blobs.bytes += d.size;
        progress.blobsDone++;
        report('blobs');
      },
    );
  };

  report('blobs');
  await copyBlobs([...main.blobs.values()]);
  report('manifests');
  for (const m of main.manifests) await pushExact(dst, m);

  if (groups.length > 0) {
    report('referrers');
    await copyBlobs([...refGraph.blobs.values()]);
    for (const m of refGraph.manifests) await pushExact(dst, m);
    for (const g of groups) await addReferrers(dst, g.subject, g.referrers);
  }

  // Re-read the root from the destination (re-hashed by the store) before anything points at it.
  const stored = await dst.fetchManifest(root.descriptor);
  if (opts.beforeTag) await opts.beforeTag(root.descriptor);
  let tagged: string | undefined;
  if (opts.tag !== undefined) {
    report('tag');
    await pushExact(dst, root, opts.tag);
    tagged = opts.tag;
  }
  return {
    source: root.descriptor,
    destination: stored.descriptor,
    manifests: main.manifests.length,
    referrers: groups.reduce((n, g) => n + g.referrers.length, 0),
    blobs,
    ...(tagged !== undefined ? { tagged } : {}),
  };
}

/** Post-order walk: every child manifest lands in `g.manifests` before its parent. */
async function walk(src: Store, node: FetchedManifest, g: Graph, seen: Set<string>): Promise<void> {
  if (seen.has(node.descriptor.digest)) return;
  seen.add(node.descriptor.digest);
  if (seen.size > MAX_COPY_MANIFESTS) {
    throw ioFailure('TOO_MANY_MANIFESTS', `${src.name}: more than ${MAX_COPY_MANIFESTS} manifests to copy`);
  }
  const m = node.manifest;
  if (Array.isArray((m as ImageIndex).manifests)) {
    for (const child of (m as ImageIndex).manifests) {
      assertDigest(child.digest, 'child manifest digest');
      if (seen.has(child.digest)) continue;
      await walk(src, await src.fetchManifest(child), g, seen);
    }
  } else {
    const im = m as ImageManifest;
    for (const b of [im.config, ...(im.layers ?? [])]) {
      if (!b) continue;
      assertDigest(b.digest, 'blob digest');
      // Non-distributable layers live at their URLs, not in the repository.
      if (b.urls?.length && /nondistributable|foreign/.test(b.mediaType)) continue;
      g.blobs.set(b.digest, b);
      if (g.blobs.size > MAX_COPY_BLOBS) {
        throw ioFailure('TOO_MANY_BLOBS', `${src.name}: more than ${MAX_COPY_BLOBS} blobs to copy`);
      }
    }
  }
  g.manifests.push(node);
}

/**
 * Breadth-first over subjects: the main manifests, then each referrer (referrers of
 * referrers). A subject's referrers are pushed after the subject itself.
 */
async function walkReferrers(
  src: Store,
  subjects: FetchedManifest[],
  g: Graph,
  groups: ReferrerGroup[],
  seen: Set<string>,
): Promise<void> {
  const queue = subjects.map((s) => s.descriptor);
  const asked = new Set<string>();
  while (queue.length > 0) {
    const subject = queue.shift() as Descriptor;
    if (asked.has(subject.digest)) continue;
    asked.add(subject.digest);
    const found = await listReferrerManifests(src, subject.digest);
    const referrers: Descriptor[] = [];
    for (const r of found) {
      referrers.push(r.descriptor);
      if (seen.has(r.descriptor.digest)) continue;
      await walk(src, r.fetched, g, seen);
      queue.push(r.fetched.descriptor);
    }
    if (referrers.length > 0) {
      groups.push({
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        referrers,
      });
    }
  }
}

async function copyBlob(
  src: Store,
  dst: Store,
  d: Descriptor,
  onBytes: ((n: number) => void) | undefined,
): Promise<'copied' | 'mounted' | 'skipped'> {
  if (await dst.hasBlob(d.digest)) return 'skipped';
  if (
    dst.mountBlob &&
    src.location.kind === 'registry' &&
    dst.location.kind === 'registry' &&
    src.location.registry === dst.location.registry &&
    src.location.repository !== dst.location.repository
  ) {
    if (await dst.mountBlob(d, src.location.repository)) return 'mounted';
  }
  const body = await src.fetchBlob(d);
  const stream = deferredSource(body, onBytes);
  try {
    await dst.pushBlob(d, stream);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return 'copied';
}

/**
 * Wraps a fetched blob stream for pushBlob: a read-ahead buffer between the two sockets, a byte
 * counter for progress, and a guard for any Store whose stream could fail (digest mismatch)
 * before the destination starts reading (it may still be opening an upload session): such an
 * error is held back and raised on the first read, instead of going unheard (a crash) or
 * leaving the destination piping from a stream that already failed (a hang).
 */
function deferredSource(src: Readable, onBytes: ((n: number) => void) | undefined): Readable {
  let early: Error | undefined;
  let reading = false;
  const out = new Readable({
    highWaterMark: COPY_BUFFER_BYTES,
    read() {
      reading = true;
      if (early) {
        out.destroy(early);
        return;
      }
      src.resume();
    },
    destroy(err, cb) {
      src.destroy();
      cb(err);
    },
  });
  src.on('data', (chunk: Buffer) => {
    onBytes?.(chunk.length);
    if (!out.push(chunk)) src.pause();
  });
  src.on('end', () => out.push(null));
  src.on('error', (err) => {
    if (reading) out.destroy(err);
    else early = err;
  });
  src.pause();
  sameVerification(out, src);
  return out;
}

/** Pushes a manifest's exact bytes and checks that the destination stored that digest. */
async function pushExact(dst: Store, m: FetchedManifest, tag?: string): Promise<void> {
  const expected = m.descriptor.digest;
  if (digestOf(m.bytes, expected.startsWith('sha512:') ? 'sha512' : 'sha256') !== expected) {
    throw digestMismatch(expected, digestOf(m.bytes), 'source manifest');
  }
  const pushed = await dst.pushManifest(m.bytes, m.descriptor.mediaType, tag);
  if (pushed.digest !== expected && pushed.digest !== digestOf(m.bytes)) {
    throw digestMismatch(expected, pushed.digest, dst.name);
  }
}

export interface CopyImageResult extends CopyResult {
  /** `name@digest` of what was read. */
  from: string;
  /** `name@digest` (and the tag written, if any) at the destination. */
  to: string;
}

/**
 * Copies the image `src` names to `dst`. The source is resolved to a digest once (a reference
 * without tag or digest means `latest`); the destination tag is `dst`'s tag, else the source
 * tag, else none. A destination digest must equal the source digest.
 */
export async function copyImage(
  src: Reference,
  dst: Reference,
  opts: Omit<CopyOptions, 'tag'> & { registry?: RegistryOptions } = {},
): Promise<CopyImageResult> {
  const { registry, ...copyOpts } = opts;
  const srcTag = src.digest ? src.tag : (src.tag ?? 'latest');
  const tag = dst.tag ?? srcTag;
  const from = await openStore(src, registry);
  try {
    const to = await openStore(dst, registry);
    try {
      const root = await from.resolve(src.digest ?? (srcTag as string));
      if (dst.digest && dst.digest !== root.digest) {
        throw badInput(
          'DIGEST_MISMATCH',
          `destination digest ${dst.digest} is not the source digest ${root.digest}`,
          'a copy never changes a digest; drop @DIGEST from the destination or fix it',
        );
      }
      const result = await copy(from, root.digest, to, {
        ...copyOpts,
        ...(tag !== undefined ? { tag } : {}),
      });
      return {
        ...result,
        from: `${from.name}@${result.source.digest}`,
        to: `${to.name}${result.tagged !== undefined ? `:${result.tagged}` : ''}@${result.destination.digest}`,
      };
    } finally {
      closeStore(to);
    }
  } finally {
    closeStore(from);
  }
}

/** Releases a registry store's connections (layouts hold none). */
export function closeStore(store: Store): void {
  (store as { close?: () => void }).close?.();
}
