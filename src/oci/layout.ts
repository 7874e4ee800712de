/**
 * OCI image layout (`oci:PATH`): a directory with `oci-layout`, `index.json` and
 * `blobs/<alg>/<hex>`, as written by skopeo, oras and buildkit. It implements the same Store
 * contract as a registry repository so that every command works against it without a server.
 *
 * Tags are `org.opencontainers.image.ref.name` annotations in index.json. Manifests pushed by
 * digest only (index children, referrers, fallback referrer indexes) are recorded in index.json
 * too, because a layout has no other way to keep them reachable.
 *
 * Every write is atomic (temp file in the same directory, fsync, rename) and index.json is
 * updated under an in-process mutex plus a cross-process lock file, so concurrent writers
 * (threads of one copy, or several vouch processes) never lose each other's entries.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { badInput, ioFailure, VouchError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import {
  assertDigest,
  digestAlgorithm,
  digestOf,
  isDigest,
  verifiedSource,
  verifyBytes,
  VerifyingStream,
} from './digest.js';
import {
  ANNOTATION,
  MediaType,
  type Descriptor,
  type FetchedManifest,
  type ImageIndex,
  type LayoutReference,
  type Manifest,
  type Store,
} from './types.js';

/** Manifests larger than this are refused (the registry's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_INDEX_JSON_BYTES = 64 * 1024 * 1024;
/** A lock file older than this belongs to a crashed writer and may be taken over. */
export const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 60_000;
const LAYOUT_VERSION = '1.0.0';

/** Opens (lazily) the layout at `ref.path`; the directory is created on the first write. */
export function openLayout(ref: LayoutReference | string): LayoutStore {
  return new LayoutStore(typeof ref === 'string' ? ref : ref.path);
}

export class LayoutStore implements Store {
  readonly location: LayoutReference;
  readonly name: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.location = { kind: 'layout', path: this.dir };
    this.name = `oci:${this.dir}`;
  }

  async resolve(reference: string): Promise<Descriptor> {
    if (isDigest(reference)) {
      const index = await this.readIndex();
      const entry = index.manifests.find((m) => m.digest === reference);
      const { descriptor } = await this.readManifest(
        entry ? stripRefName(entry) : { mediaType: '', digest: reference, size: -1 },
      );
      return descriptor;
    }
    if (reference.startsWith('sha256:') || reference.startsWith('sha512:')) assertDigest(reference);
    const index = await this.readIndex();
    const entry = index.manifests.filter((m) => m.annotations?.[ANNOTATION.refName] === reference).pop();
    if (!entry) {
      if (!(await exists(path.join(this.dir, 'index.json')))) {
        throw notFound(
          `no OCI image layout at ${this.dir}`,
          'check the path (an OCI layout holds oci-layout and index.json)',
        );
      }
      const tags = [
        ...new Set(index.manifests.map((m) => m.annotations?.[ANNOTATION.refName]).filter(Boolean)),
      ];
      throw notFound(
        `tag "${reference}" not found in ${this.name}`,
        tags.length > 0
          ? `tags in this layout: ${tags.slice(0, 10).join(', ')}${tags.length > 10 ? ', …' : ''}`
          : 'the layout has no tags; name an image by @sha256:DIGEST',
      );
    }
    return stripRefName(entry);
  }

  async fetchManifest(reference: string | Descriptor): Promise<FetchedManifest> {
    if (typeof reference === 'string') {
      if (isDigest(reference)) {
        const index = await this.readIndex();
        const entry = index.manifests.find((m) => m.digest === reference);
        return this.readManifest(
          entry ? stripRefName(entry) : { mediaType: '', digest: reference, size: -1 },
        );
      }
      return this.readManifest(await this.resolve(reference));
    }
    return this.readManifest(reference);
  }

  async hasManifest(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async pushManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor> {
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw badInput('MANIFEST_TOO_LARGE', `manifest of ${bytes.length} bytes exceeds ${MAX_MANIFEST_BYTES}`);
    }
    const manifest = parseManifest(bytes, 'manifest to push');
    if (manifest.mediaType !== undefined && manifest.mediaType !== mediaType) {
      throw badInput(
        'MEDIA_TYPE_MISMATCH',
        `manifest declares mediaType ${manifest.mediaType} but was pushed as ${mediaType}`,
      );
    }
    const digest = digestOf(bytes);
    const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
    if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
    await this.ensureLayout();
    const file = this.blobPath(digest);
    if (!(await exists(file))) await writeFileAtomic(file, bytes, { createDirs: true });
    await this.updateIndex((index) => {
      if (tag !== undefined) {
        index.manifests = index.manifests.filter((m) => m.annotations?.[ANNOTATION.refName] !== tag);
        index.manifests.push({ ...descriptor, annotations: { [ANNOTATION.refName]: tag } });
      } else if (!index.manifests.some((m) => m.digest === digest)) {
        index.manifests.push({ ...descriptor });
      }
      return true;
    });
    return descriptor;
  }

  async deleteManifest(digest: string): Promise<void> {
    assertDigest(digest);
    await this.updateIndex((index) => {
      const before = index.manifests.length;
      index.manifests = index.manifests.filter((m) => m.digest !== digest);
      return index.manifests.length !== before;
    });
    await fsp.rm(this.blobPath(digest), { force: true });
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async fetchBlob(desc: Descriptor): Promise<Readable> {
    const file = this.blobPath(desc.digest);
    let size: number;
    try {
      size = (await fsp.stat(file)).size;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw blobNotFound(desc.digest, this.name);
      throw err;
    }
    if (size !== desc.size) {
      throw ioFailure(
        'SIZE_MISMATCH',
        `${this.name} holds ${size} bytes for ${desc.digest}, expected ${desc.size}`,
        'the layout was altered; do not trust it',
      );
    }
    // Nothing is read until the consumer reads: a verification failure can never fire before
    // the consumer listens, nor leave it piping from a stream that already failed.
    return verifiedSource(createReadStream(file, { highWaterMark: 1024 * 1024 }), {
      digest: desc.digest,
      size: desc.size,
      source: this.name,
    });
  }

  async pushBlob(desc: Descriptor, content: Readable | Buffer): Promise<void> {
    const file = this.blobPath(desc.digest);
    if (await exists(file)) {
      // Already stored (content-addressed): drop the source instead of reading it through.
      if (!Buffer.isBuffer(content)) content.destroy();
      return;
    }
    await this.ensureLayout();
    await fsp.mkdir(path.dirname(file), { recursive: true });
    if (Buffer.isBuffer(content)) {
      if (content.length !== desc.size) {
        throw badInput('SIZE_MISMATCH', `blob has ${content.length} bytes, descriptor says ${desc.size}`);
      }
      verifyBytes(content, desc.digest, 'blob to push');
      await writeFileAtomic(file, content, { createDirs: true });
      return;
    }
    const tmp = tempName(file);
    const verifier = new VerifyingStream({ digest: desc.digest, size: desc.size, source: 'blob source' });
    try {
      // flush: fsync before close, so a rename never publishes a blob that is not on disk.
      await pipeline(content, verifier, createWriteStream(tmp, { flags: 'wx', flush: true }));
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  async referrersApi(): Promise<Descriptor[] | undefined> {
    return undefined;
  }

  async listTags(): Promise<string[]> {
    const index = await this.readIndex();
    const tags = index.manifests
      .map((m) => m.annotations?.[ANNOTATION.refName])
      .filter((t): t is string => t !== undefined);
    return [...new Set(tags)];
  }

  /**
   * Atomic read-modify-write of the image index tagged `tag`, under the layout lock: `change`
   * gets the current index (undefined when the tag does not exist) and returns the new one, or
   * undefined to leave it. A layout can do what a registry cannot (registries ignore If-Match),
   * so concurrent referrer writers — in this process or others — never lose an entry.
   */
  async updateTaggedIndex(
    tag: string,
    change: (current: ImageIndex | undefined) => ImageIndex | undefined,
  ): Promise<Descriptor | undefined> {
    await this.ensureLayout();
    return withLayoutLock(this.dir, async () => {
      const index = await this.readIndex();
      const entry = index.manifests.filter((m) => m.annotations?.[ANNOTATION.refName] === tag).pop();
      const current = entry
        ? ((await this.readManifest(stripRefName(entry))).manifest as ImageIndex)
        : undefined;
      const next = change(current);
      if (!next) return undefined;
      const bytes = Buffer.from(JSON.stringify(next));
      if (bytes.length > MAX_MANIFEST_BYTES) {
        throw ioFailure('MANIFEST_TOO_LARGE', `index ${tag} would exceed ${MAX_MANIFEST_BYTES} bytes`);
      }
      const descriptor: Descriptor = {
        mediaType: MediaType.ociIndex,
        digest: digestOf(bytes),
        size: bytes.length,
      };
      const file = this.blobPath(descriptor.digest);
      if (!(await exists(file))) await writeFileAtomic(file, bytes, { createDirs: true });
      index.manifests = index.manifests.filter((m) => m.annotations?.[ANNOTATION.refName] !== tag);
      index.manifests.push({ ...descriptor, annotations: { [ANNOTATION.refName]: tag } });
      await writeFileAtomic(path.join(this.dir, 'index.json'), Buffer.from(JSON.stringify(index)), {
        createDirs: true,
      });
      return descriptor;
    });
  }

  /** The path of a blob; the digest is validated first, so it can never escape blobs/. */
  blobPath(digest: string): string {
    const alg = digestAlgorithm(digest);
    return path.join(this.dir, 'blobs', alg, digest.slice(alg.length + 1));
  }

  /** index.json, or an empty index when the layout does not exist yet. */
  async readIndex(): Promise<ImageIndex> {
    let bytes: Buffer;
    try {
      const st = await fsp.stat(this.dir);
      if (!st.isDirectory()) {
        throw badInput(
          'LAYOUT_NOT_DIRECTORY',
          `${this.dir} is not a directory`,
          'name an OCI layout directory',
        );
      }
      bytes = await readCapped(path.join(this.dir, 'index.json'), MAX_INDEX_JSON_BYTES);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return emptyIndex();
      throw err;
    }
    let index: unknown;
    try {
      index = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw invalidLayout(this.dir, 'index.json is not JSON');
    }
    if (!isObject(index) || index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
      throw invalidLayout(this.dir, 'index.json is not an OCI image index');
    }
    for (const m of index.manifests as unknown[]) {
      if (!isObject(m) || typeof m.digest !== 'string' || !isDigest(m.digest) || typeof m.size !== 'number') {
        throw invalidLayout(this.dir, 'index.json holds an invalid descriptor');
      }
    }
    return index as unknown as ImageIndex;
  }

  private async readManifest(desc: Descriptor): Promise<FetchedManifest> {
    const file = this.blobPath(desc.digest);
    let bytes: Buffer;
    try {
      bytes = await readCapped(file, MAX_MANIFEST_BYTES);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw notFound(`manifest ${desc.digest} not found in ${this.name}`, 'check the digest and the path');
      }
      throw err;
    }
    verifyBytes(bytes, desc.digest, this.name);
    if (desc.size >= 0 && bytes.length !== desc.size) {
      throw ioFailure(
        'SIZE_MISMATCH',
        `${this.name}: manifest ${desc.digest} has ${bytes.length} bytes, descriptor says ${desc.size}`,
        'the index points at the wrong size; do not trust it',
      );
    }
    const manifest = parseManifest(bytes, `${this.name}: manifest ${desc.digest}`);
    const mediaType = manifest.mediaType ?? (desc.mediaType || guessMediaType(manifest));
    const descriptor: Descriptor = { ...desc, mediaType, size: bytes.length };
    if (!descriptor.artifactType && manifest.artifactType) descriptor.artifactType = manifest.artifactType;
    return { descriptor, bytes, manifest };
  }

  private async ensureLayout(): Promise<void> {
    try {
      await fsp.mkdir(this.dir, { recursive: true });
    } catch (err) {
      if (isErrno(err, 'EEXIST') || isErrno(err, 'ENOTDIR')) {
        throw badInput(
          'LAYOUT_NOT_DIRECTORY',
          `${this.dir} is not a directory`,
          'name an OCI layout directory',
        );
      }
      throw err;
    }
    const marker = path.join(this.dir, 'oci-layout');
    let text: string | undefined;
    try {
      text = await fsp.readFile(marker, 'utf8');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (text === undefined) {
      await writeFileAtomic(marker, Buffer.from(JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION })), {
        createDirs: true,
      });
      return;
    }
    let version: unknown;
    try {
      version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch {
      throw invalidLayout(this.dir, 'oci-layout is not JSON');
    }
    if (typeof version !== 'string' || !version.startsWith('1.')) {
      throw invalidLayout(this.dir, `unsupported imageLayoutVersion ${JSON.stringify(version)}`);
    }
  }

  /**
   * Read-modify-write of index.json under both locks. `change` mutates the index and returns
   * whether anything changed (nothing is written otherwise).
   */
  private async updateIndex(change: (index: ImageIndex) => boolean): Promise<void> {
    await withLayoutLock(this.dir, async () => {
      const index = await this.readIndex();
      if (!change(index)) return;
      await writeFileAtomic(path.join(this.dir, 'index.json'), Buffer.from(JSON.stringify(index)), {
        createDirs: true,
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Locking: a promise chain per directory inside this process, and an O_EXCL lock file across
// processes. The lock file holds the owner's pid; one older than LOCK_STALE_MS is taken over.

const chains = new Map<string, Promise<void>>();

async function withLayoutLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(dir) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = prev.then(() => mine);
  chains.set(dir, tail);
  await prev;
  try {
    return await withFileLock(path.join(dir, 'index.json.lock'), fn);
  } finally {
    release();
    if (chains.get(dir) === tail) chains.delete(dir);
  }
}

async function withFileLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await fsp.open(lock, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    const age = await lockAge(lock);
    if (age !== undefined && age > LOCK_STALE_MS) {
      // Move the stale lock aside under a unique name first: of two processes that both see
      // it stale, only one rename succeeds, and neither removes a lock taken in between.
      const aside = `${lock}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await fsp.rename(lock, aside);
        await fsp.rm(aside, { force: true });
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw ioFailure(
        'LAYOUT_LOCKED',
        `the OCI layout is locked by another writer: ${lock}`,
        `wait for the other vouch process, or remove the lock file if no writer is running (it is taken over after ${LOCK_STALE_MS / 1000}s)`,
      );
    }
    await sleep(Math.min(100, 5 + attempt * 5) * (0.5 + Math.random()));
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(lock, { force: true });
  }
}

async function lockAge(lock: string): Promise<number | undefined> {
  try {
    return Date.now() - (await fsp.stat(lock)).mtimeMs;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------

function tempName(file: string): string {
  return path.join(
    path.dirname(file),
    `.tmp-${path.basename(file).slice(0, 16)}-${process.pid}-${randomBytes(6).toString('hex')}`,
  );
}

async function readCapped(file: string, cap: number): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (size > cap) {
      throw ioFailure('MANIFEST_TOO_LARGE', `${file} is ${size} bytes, more than the ${cap} allowed`);
    }
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

function parseManifest(bytes: Buffer, what: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw ioFailure('MANIFEST_INVALID', `${what} is not JSON`, 'the content is not an OCI manifest');
  }
  if (!isObject(m) || m.schemaVersion !== 2 || (!Array.isArray(m.manifests) && !isObject(m.config))) {
    throw ioFailure('MANIFEST_INVALID', `${what} is not an OCI image manifest or index`);
  }
  return m as unknown as Manifest;
}

function guessMediaType(m: Manifest): string {
  return 'manifests' in m && Array.isArray(m.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
}

function stripRefName(d: Descriptor): Descriptor {
  const { annotations, ...rest } = d;
  if (!annotations) return { ...rest };
  const { [ANNOTATION.refName]: _tag, ...others } = annotations;
  return Object.keys(others).length > 0 ? { ...rest, annotations: others } : { ...rest };
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

function notFound(message: string, hint: string): VouchError {
  return new VouchError('MANIFEST_UNKNOWN', message, { exitCode: 3, hint, details: { status: 404 } });
}

function blobNotFound(digest: string, where: string): VouchError {
  return new VouchError('BLOB_UNKNOWN', `blob ${digest} not found in ${where}`, {
    exitCode: 3,
    hint: 'the layout is incomplete; copy the image into it again',
    details: { status: 404 },
  });
}

function invalidLayout(dir: string, why: string): VouchError {
  return ioFailure('LAYOUT_INVALID', `${dir} is not a valid OCI image layout: ${why}`, 'check the path');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
