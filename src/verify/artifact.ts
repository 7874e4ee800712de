/**
 * Verifying blobs (function packages, any file) against bundle files: `vouch verify function`
 * and `vouch verify bundle`. The artifact is a file (hashed by streaming) or a bare digest.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { badInput, rejected, toVouchError, VouchError } from '../errors.js';
import { parseBundle, verifyBundle, type ArtifactInput, type VerifiedBundle } from './bundle.js';
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
  if (hex.length !== want) throw badInput('DIGEST_INVALID', `${s} is not a ${algorithm} digest (${want} hex digits)`);
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
      throw rejected('BUNDLE_MISSING', `no bundle for ${item.artifact}: ${item.bundle} does not exist`, 'sign it with: vouch sign function, or pass --bundle FILE');
    }
    if (code === 'ENOENT') throw badInput('BUNDLE_NOT_FOUND', `no such bundle file: ${item.bundle}`, 'check the bundle path');
    throw toVouchError(e);
  }
  try {
    const { size } = await fh.stat();
    if (size > MAX_BUNDLE_FILE_BYTES) {
      return { unreadable: unreadable(item.bundle, `bundle is ${size} bytes (limit ${MAX_BUNDLE_FILE_BYTES})`) };
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

async function verifyItem(item: BlobItem, plan: VerificationPlan): Promise<VerdictWithInputs> {
  const asDigest = digestArtifact(item.artifact);
  const artifact: ArtifactInput = asDigest ?? { kind: 'file', path: item.artifact };
  const digest = asDigest ? `${asDigest.algorithm}:${asDigest.hex}` : await sha256File(item.artifact);
  const read = await readBundleFile(item);
  let found: FoundBundle;
  if (read.unreadable) found = { unreadable: read.unreadable };
  else {
    const parsed = parseBundle(read.bytes!, item.bundle);
    if (parsed instanceof VouchError) found = { unreadable: unreadable(item.bundle, parsed.message, read.bytes) };
    else {
      const verified: VerifiedBundle = await verifyBundle(parsed, artifact, plan.trust, { source: item.bundle, bytes: read.bytes });
      found = { verified };
    }
  }
  return buildVerdict(item.artifact, digest, [found], plan);
}

/** Verifies each artifact against its bundle, concurrently; results in input order. */
export async function verifyBlobs(items: BlobItem[], plan: VerificationPlan, opts: { concurrency?: number } = {}): Promise<VerdictWithInputs[]> {
  const limit = Math.max(1, opts.concurrency ?? 4);
  const out: VerdictWithInputs[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await verifyItem(items[i]!, plan);
    }
  });
  await Promise.all(workers);
  return out;
}

/** One file against one bundle. */
export function verifyFile(file: string, bundle: string, plan: VerificationPlan): Promise<VerdictWithInputs> {
  return verifyItem({ artifact: file, bundle }, plan);
}

/** A bare digest (`sha256:<hex>`) against one bundle. */
export function verifyDigest(digest: string, bundle: string, plan: VerificationPlan): Promise<VerdictWithInputs> {
  if (!digestArtifact(digest)) throw badInput('DIGEST_INVALID', `${digest} is not sha256:<hex> or sha512:<hex>`);
  return verifyItem({ artifact: digest, bundle }, plan);
}
