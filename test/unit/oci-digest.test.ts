import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import {
  assertDigest,
  digestOf,
  HashingStream,
  isDigest,
  sha256Digest,
  verifyBytes,
  VerifyingStream,
} from '../../src/oci/digest.js';
import { retryAfterMs } from '../../src/oci/transport.js';
import { withDigestParam } from '../../src/oci/registry.js';

const data = Buffer.from('hello, registry');
const good = sha256Digest(data);

async function drain(src: Readable, through: VerifyingStream | HashingStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(src, through, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

describe('digests', () => {
  it('computes sha256 and sha512 digests', () => {
    expect(good).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(digestOf(data, 'sha512')).toMatch(/^sha512:[a-f0-9]{128}$/);
    expect(sha256Digest('{}')).toBe(
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
  });
  it('validates digest syntax', () => {
    expect(isDigest(good)).toBe(true);
    expect(isDigest(good.toUpperCase())).toBe(false);
    expect(isDigest('sha256:abc')).toBe(false);
    expect(() => assertDigest('md5:00')).toThrow(VouchError);
  });
  it('verifyBytes throws DIGEST_MISMATCH (exit 3) on altered bytes', () => {
    expect(() => verifyBytes(data, good, 'x')).not.toThrow();
    const altered = Buffer.from(data);
    altered[0] ^= 1;
    expect(() => verifyBytes(altered, good, 'reg.test')).toThrow(
      expect.objectContaining({ code: 'DIGEST_MISMATCH', exitCode: 3 }),
    );
  });
});

describe('VerifyingStream', () => {
  it('passes verified bytes through unchanged', async () => {
    expect(
      await drain(
        Readable.from([data.subarray(0, 3), data.subarray(3)]),
        new VerifyingStream({ digest: good, size: data.length }),
      ),
    ).toEqual(data);
  });
  it('errors on a flipped byte', async () => {
    const bad = Buffer.from(data);
    bad[5] ^= 0xff;
    await expect(
      drain(
        Readable.from([bad]),
        new VerifyingStream({ digest: good, size: data.length, source: 'reg.test' }),
      ),
    ).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining(`reg.test returned content that does not match ${good}`),
    });
  });
  it('errors on short content (truncation) and on content over the size', async () => {
    await expect(
      drain(Readable.from([data.subarray(0, 4)]), new VerifyingStream({ digest: good, size: data.length })),
    ).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringMatching(/sent 4 bytes .* expected 15/),
    });
    await expect(
      drain(
        Readable.from([data, Buffer.from('x')]),
        new VerifyingStream({ digest: good, size: data.length }),
      ),
    ).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringMatching(/more than the declared 15 bytes/),
    });
  });
  it('HashingStream reports digest and size', async () => {
    const h = new HashingStream();
    await drain(Readable.from([data]), h);
    expect(h.digest).toBe(good);
    expect(h.size).toBe(data.length);
  });
});

describe('Retry-After and upload URLs', () => {
  it('parses seconds and HTTP dates, capped', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('100000')).toBe(30_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
  it('appends digest= whether the Location has a query or not, keeping existing bytes', () => {
    expect(withDigestParam('http://r/v2/a/blobs/uploads/u1', good)).toBe(
      `http://r/v2/a/blobs/uploads/u1?digest=sha256%3A${good.slice(7)}`,
    );
    expect(withDigestParam('http://r/v2/a/blobs/uploads/u1?_state=ab%2Bc%3D%3D&x=1', good)).toBe(
      `http://r/v2/a/blobs/uploads/u1?_state=ab%2Bc%3D%3D&x=1&digest=sha256%3A${good.slice(7)}`,
    );
  });
});
