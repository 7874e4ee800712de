/**
 * Verifying blobs (function packages, any file) against bundle files: `vouch verify function`
 * and `vouch verify bundle`. The artifact is a file (hashed by streaming) or a bare digest.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { badInput, rejected, toVouchError, VouchError } from '../errors.js';
import { parseBundle, type ArtifactInput } from './bundle.js';
import { verifyBundles } from './pool.js';
import type { VerificationPlan } from './plan.js';
import type { BundleReport } from './types.js';
import { buildVerdict, type FoundBundle, type VerdictWithInputs } from './verdict.js';

/** Bundles are small JSON documents; anything larger is refused before parsing. */
export const MAX_BUNDLE_FILE_BYTES = 10 * 1024 * 1024;

export interface BlobItem {
  /** A file path, or `sha256:<hex>`. */
  artifact: string;
  /** The bundle file. */
  bundle: string;
  /** True when the bundle path was derived (FILE.sigstore.json), not given. */
  defaultBundle?: boolean;
}

/** Parses `sha256:<hex>` (or sha512) into a digest artifact; undefined for anything else. */
export function digestArtifact(s: string): Extract<ArtifactInput, { kind: 'digest' }> | undefined {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(s);
  if (!m) return undefined;
  const [, algorithm, hex] = m as unknown as [string, 'sha256' | 'sha512', string];
  const want = algorithm === 'sha256' ? 64 : 128;
  if (hex.length !== want)
    throw badInput('DIGEST_INVALID', `${s} is not a ${algorithm} digest (${want} hex digits)`);
  return { kind: 'digest', algorithm, hex: hex.toLowerCase() };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    throw toVouchError(e);
  }
  return `sha256:${h.digest('hex')}`;
}

/** Reads a bundle file (capped); a missing default bundle means the artifact is unsigned (exit 1). */
export async function readBundleFile(item: BlobItem): Promise<{ bytes?: Buffer; unreadable?: BundleReport }> {
  let fh;
  try {
    fh = await open(item.bundle, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && item.defaultBundle) {
      throw rejected(
        'BUNDLE_MISSING',
        `no bundle for ${item.artifact}: ${item.bundle} does not exist`,
        'sign it with: vouch sign function, or pass --bundle FILE',
      );
    }
    if (code === 'ENOENT')
      throw badInput('BUNDLE_NOT_FOUND', `no such bundle file: ${item.bundle}`, 'check the bundle path');
    throw toVouchError(e);
  }
  try {
    const { size } = await fh.stat();
    if (size > MAX_BUNDLE_FILE_BYTES) {
      return {
        unreadable: unreadable(item.bundle, `bundle is ${size} bytes (limit ${MAX_BUNDLE_FILE_BYTES})`),
      };
    }
    return { bytes: await fh.readFile() };
  } finally {
    await fh.close();
  }
}

export function unreadable(source: string, error: string, bytes?: Buffer): BundleReport {
  return {
    source,
    digest: bytes ? `sha256:${createHash('sha256').update(bytes).digest('hex')}` : '',
    ok: false,
    error,
    checks: [{ name: 'bundle-format', ok: false, detail: error }],
  };
}

interface Prepared {
  item: BlobItem;
  artifact: ArtifactInput;
  digest: string;
  found?: FoundBundle;
  bundle?: unknown;
  bytes?: Buffer;
}

async function prepare(item: BlobItem): Promise<Prepared> {
  const asDigest = digestArtifact(item.artifact);
  const artifact: ArtifactInput = asDigest ?? { kind: 'file', path: item.artifact };
  const digest = asDigest ? `${asDigest.algorithm}:${asDigest.hex}` : await sha256File(item.artifact);
  const read = await readBundleFile(item);
  if (read.unreadable) return { item, artifact, digest, found: { unreadable: read.unreadable } };
  const parsed = parseBundle(read.bytes!, item.bundle);
  if (parsed instanceof VouchError)
    return {
      item,
      artifact,
      digest,
      found: { unreadable: unreadable(item.bundle, parsed.message, read.bytes) },
    };
  return { item, artifact, digest, bundle: parsed, bytes: read.bytes };
}

/**
 * Verifies each artifact against its bundle; results in input order. Files are hashed and
 * bundles read concurrently, then all bundles go to one verifyBundles call (worker threads for
 * many keyless bundles).
 */
export async function verifyBlobs(
  items: BlobItem[],
  plan: VerificationPlan,
  opts: { concurrency?: number } = {},
): Promise<VerdictWithInputs[]> {
  const prepared = await mapLimit(items, Math.max(1, opts.concurrency ?? 4), prepare);
  const pending = prepared.filter((p) => !p.found);
  const verified = await verifyBundles(
    pending.map((p) => ({ bundle: p.bundle, artifact: p.artifact, source: p.item.bundle, bytes: p.bytes })),
    plan.trust,
    opts.concurrency ? { concurrency: opts.concurrency } : {},
  );
  pending.forEach((p, i) => (p.found = { verified: verified[i]! }));
  return prepared.map((p) => buildVerdict(p.item.artifact, p.digest, [p.found!], plan));
}

async function mapLimit<T, R>(xs: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await fn(xs[i]!);
      }
    }),
  );
  return out;
}

async function verifyItem(item: BlobItem, plan: VerificationPlan): Promise<VerdictWithInputs> {
  return (await verifyBlobs([item], plan))[0]!;
}

/** One file against one bundle. */
export function verifyFile(file: string, bundle: string, plan: VerificationPlan): Promise<VerdictWithInputs> {
  return verifyItem({ artifact: file, bundle }, plan);
}

/** A bare digest (`sha256:<hex>`) against one bundle. */
export function verifyDigest(
  digest: string,
  bundle: string,
  plan: VerificationPlan,
): Promise<VerdictWithInputs> {
  if (!digestArtifact(digest))
    throw badInput('DIGEST_INVALID', `${digest} is not sha256:<hex> or sha512:<hex>`);
  return verifyItem({ artifact: digest, bundle }, plan);
}
