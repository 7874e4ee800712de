/**
 * Content addressing: digests of buffers and a verifying pass-through stream. The registry
 * (and a layout on disk) is untrusted, so every byte read is hashed and compared with the
 * digest that was asked for.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { badInput, ioFailure } from '../errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True when `s` is a digest vouch can verify (`sha256:<64 hex>` or `sha512:<128 hex>`). */
export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Throws bad input when `s` is not a verifiable digest; returns it otherwise. */
export function assertDigest(s: string, what = 'digest'): string {
  if (!isDigest(s)) {
    throw badInput(
      'BAD_DIGEST',
      `invalid ${what} "${truncate(s)}": expected sha256:<64 hex> or sha512:<128 hex>`,
      'use a full lowercase digest, e.g. sha256:0123…',
    );
  }
  return s;
}

export function digestAlgorithm(digest: string): DigestAlgorithm {
  return assertDigest(digest).startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** `sha256:<hex>` of the bytes. */
export function sha256Digest(data: Buffer | Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** The digest of `data` with the algorithm of `like` (so sha512 references verify as sha512). */
export function digestOf(data: Buffer | Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:` + createHash(algorithm).update(data).digest('hex');
}

/** Throws DIGEST_MISMATCH unless `data` hashes to `expected`. */
export function verifyBytes(data: Buffer, expected: string, source: string): void {
  const actual = digestOf(data, digestAlgorithm(expected));
  if (actual !== expected) throw digestMismatch(expected, actual, source);
}

export function digestMismatch(expected: string, actual: string, source: string) {
  return ioFailure(
    'DIGEST_MISMATCH',
    `${source} returned content that does not match ${expected} (got ${actual})`,
    'the content was altered in storage or in transit; do not trust it — check the registry and retry',
  );
}

export interface VerifyStreamOptions {
  /** Expected digest. */
  digest: string;
  /** Exact expected size in bytes; more or fewer bytes is an error. */
  size?: number;
  /** Where the bytes come from, for messages (e.g. `127.0.0.1:5000/demo/app`). */
  source?: string;
}

/**
 * A pass-through stream that hashes what flows through it and errors (exit-3 VouchError) at
 * the end when the bytes do not hash to `digest`, as soon as they exceed `size`, or at the
 * end when they fall short of it. A consumer that sees 'end' has the verified bytes.
 */
/** Streams known to check their own bytes against a digest and size (see `verifiesAs`). */
const verifying = new WeakMap<Readable, VerifyStreamOptions>();

/**
 * True when `stream` (or the stream it was derived from, see `sameVerification`) errors unless
 * its bytes hash to `desc.digest` and are exactly `desc.size` long, so a consumer need not hash
 * them again.
 */
export function verifiesAs(stream: Readable, desc: { digest: string; size: number }): boolean {
  const v = verifying.get(stream);
  return v !== undefined && v.digest === desc.digest && v.size === desc.size;
}

/** Declares that `derived` carries every byte and every error of `source` unchanged. */
export function sameVerification(derived: Readable, source: Readable): void {
  const v = verifying.get(source);
  if (v) verifying.set(derived, v);
}

export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private seen = 0;
  readonly expected: VerifyStreamOptions;

  constructor(opts: VerifyStreamOptions) {
    // Larger buffers than the 16 KiB default: fewer hand-offs between sockets and the hash.
    super({ highWaterMark: 1024 * 1024 });
    this.expected = opts;
    this.hash = createHash(digestAlgorithm(opts.digest));
    verifying.set(this, opts);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    const { size, digest, source } = this.expected;
    if (size !== undefined && this.seen > size) {
      cb(
        ioFailure(
          'DIGEST_MISMATCH',
          `${source ?? 'source'} sent more than the declared ${size} bytes for ${digest}`,
          'the content does not match its descriptor; do not trust it',
        ),
      );
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const { size, digest, source } = this.expected;
    if (size !== undefined && this.seen !== size) {
      cb(
        ioFailure(
          'DIGEST_MISMATCH',
          `${source ?? 'source'} sent ${this.seen} bytes for ${digest}, expected ${size} (truncated content)`,
          'the transfer was cut short or the content was altered; retry, and check the source',
        ),
      );
      return;
    }
    const actual = `${digestAlgorithm(digest)}:${this.hash.digest('hex')}`;
    if (actual !== digest) {
      cb(digestMismatch(digest, actual, source ?? 'source'));
      return;
    }
    cb();
  }
}

export interface VerifiedSourceOptions extends VerifyStreamOptions {
  /** Maps a source failure (error or premature close) to the error the consumer sees. */
  mapError?: (err: unknown, bytesSeen: number) => Error;
}

/**
 * A VerifyingStream over `source` that pulls nothing until its consumer first reads. Errors of
 * the source (or its premature close) that happen before that are held back and raised on the
 * first read, so a stream handed across awaits never emits an unheard 'error' (which would
 * crash the process) and is never piped after it already failed (which would hang). Destroying
 * the returned stream destroys the source.
 */
export function verifiedSource(source: Readable, opts: VerifiedSourceOptions): VerifyingStream {
  let started = false;
  let early: Error | undefined;
  const map = (err: unknown): Error => (opts.mapError ? opts.mapError(err, stream.bytes) : (err as Error));
  const fail = (err: unknown): void => {
    if (stream.destroyed) return;
    if (started) stream.destroy(map(err));
    else early ??= map(err);
  };
  const stream = new (class extends VerifyingStream {
    override _read(size: number): void {
      if (!started) {
        started = true;
        if (early) {
          this.destroy(early);
          return;
        }
        source.pipe(this);
      }
      super._read(size);
    }
  })(opts);
  source.on('error', fail);
  source.on('close', () => {
    if (!source.readableEnded)
      fail(
        Object.assign(new Error('the source closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }),
      );
  });
  stream.on('close', () => {
    if (!source.readableEnded && !source.destroyed) source.destroy();
  });
  return stream;
}

/** A hashing pass-through that computes the sha256 digest and size of what flows through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  private seen = 0;
  private result?: string;

  constructor() {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = 'sha256:' + this.hash.digest('hex');
    cb();
  }

  get size(): number {
    return this.seen;
  }

  /** The digest; only available after the stream ended. */
  get digest(): string {
    if (!this.result) throw new Error('HashingStream: digest read before end');
    return this.result;
  }
}

function truncate(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '…' : s;
}
