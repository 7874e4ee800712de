import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { parseBundle, verifyBundle, type ArtifactInput, type TrustOptions } from '../../src/verify/bundle.js';
import {
  clone,
  dsseBundle,
  makeKey,
  messageBundle,
  sha256hex,
  statementFor,
} from './verify-bundle-fixtures.js';

let root: TrustedRootJSON;
const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-vb-'));
const data = Buffer.from('function package bytes\n'.repeat(1000));
const other = Buffer.concat([data, Buffer.from('x')]);
const file = path.join(dir, 'fn.zip');
const otherFile = path.join(dir, 'other.zip');
writeFileSync(file, data);
writeFileSync(otherFile, other);
const key = makeKey('p256');
const wrongKey = makeKey('p256');

beforeAll(async () => {
  root = await loadTrustedRoot({ offline: true });
});

const trustWith = (...keys: ReturnType<typeof makeKey>[]): TrustOptions => ({
  trustedRoot: root,
  keys: keys.map((k, i) => ({ id: `k${i}`, key: k.publicKey })),
});

function failing(r: { report: { checks: { name: string; ok: boolean }[] } }) {
  return r.report.checks.find((c) => !c.ok)?.name;
}

describe('DSSE, key-based', () => {
  const bundle = dsseBundle(key, statementFor([{ name: 'fn.zip', data }]));
  const forms: [string, ArtifactInput][] = [
    ['file', { kind: 'file', path: file }],
    ['bytes', { kind: 'bytes', data }],
    ['digest', { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) }],
  ];
  it.each(forms)('verifies with the artifact as %s', async (_form, artifact) => {
    const r = await verifyBundle(bundle, artifact, trustWith(key), { source: 'b.json' });
    expect(r.report.ok).toBe(true);
    expect(r.report.kind).toBe('dsse');
    expect(r.report.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(r.statement?.subject[0]?.name).toBe('fn.zip');
    expect(r.signer).toEqual({ kind: 'key', keyId: 'k0' });
    expect(r.report.signer).toBe('key:k0');
  });

  it('refuses another artifact: subject digest not in statement subjects', async () => {
    const r = await verifyBundle(bundle, { kind: 'file', path: otherFile }, trustWith(key));
    expect(r.report.ok).toBe(false);
    expect(r.report.error).toBe(`subject digest sha256:${sha256hex(other)} not in statement subjects`);
    expect(r.statement).toBeUndefined();
  });

  it('refuses another digest', async () => {
    const r = await verifyBundle(
      bundle,
      { kind: 'digest', algorithm: 'sha256', hex: sha256hex(other) },
      trustWith(key),
    );
    expect(failing(r)).toBe('subject-digest');
  });

  it('matches a sha512-only subject', async () => {
    const sha512 = createHash('sha512').update(data).digest('hex');
    const b = dsseBundle(key, statementFor([{ name: 'pkg.tgz', digest: { sha512 } }]));
    expect((await verifyBundle(b, { kind: 'file', path: file }, trustWith(key))).report.ok).toBe(true);
    expect(
      (await verifyBundle(b, { kind: 'digest', algorithm: 'sha512', hex: sha512 }, trustWith(key))).report.ok,
    ).toBe(true);
    expect((await verifyBundle(b, { kind: 'file', path: otherFile }, trustWith(key))).report.ok).toBe(false);
  });

  it('refuses the wrong key', async () => {
    const r = await verifyBundle(bundle, { kind: 'bytes', data }, trustWith(wrongKey));
    expect(r.report.ok).toBe(false);
    expect(failing(r)).toBe('signature');
    expect(r.report.error).toBe('signature does not verify with any trusted key');
  });

  it('tries every trusted key, whatever the hint says', async () => {
    const hinted = dsseBundle(key, statementFor([{ name: 'fn.zip', data }]), { hint: 'k0' });
    const r = await verifyBundle(hinted, { kind: 'bytes', data }, trustWith(wrongKey, key));
    expect(r.report.ok).toBe(true);
    expect(r.signer).toEqual({ kind: 'key', keyId: 'k1' });
  });

  it('refuses a key bundle when no key is trusted (the key hint is not a trust anchor)', async () => {
    const r = await verifyBundle(bundle, { kind: 'bytes', data }, { trustedRoot: root });
    expect(r.report.error).toBe('no trusted key for key-based bundle');
  });

  it('requires the in-toto payload type', async () => {
    const b = dsseBundle(key, statementFor([{ name: 'fn.zip', data }]), { payloadType: 'application/json' });
    const r = await verifyBundle(b, { kind: 'bytes', data }, trustWith(key));
    expect(failing(r)).toBe('payload-type');
    expect(r.report.error).toContain('is not application/vnd.in-toto+json');
  });

  it('requires an in-toto statement with subjects', async () => {
    const wrongType = dsseBundle(key, {
      ...statementFor([{ name: 'fn.zip', data }]),
      _type: 'https://example.com/Statement',
    });
    expect(failing(await verifyBundle(wrongType, { kind: 'bytes', data }, trustWith(key)))).toBe('statement');
    const noSubjects = dsseBundle(key, { ...statementFor([{ name: 'fn.zip', data }]), subject: [] });
    expect(failing(await verifyBundle(noSubjects, { kind: 'bytes', data }, trustWith(key)))).toBe(
      'statement',
    );
    const notJson = dsseBundle(key, 'not json');
    expect(failing(await verifyBundle(notJson, { kind: 'bytes', data }, trustWith(key)))).toBe('statement');
  });

  it('refuses a changed payload (signature over the PAE)', async () => {
    const b = clone(bundle) as { dsseEnvelope: { payload: string } };
    const stmt = statementFor([{ name: 'fn.zip', data: other }]);
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
    const r = await verifyBundle(b, { kind: 'bytes', data: other }, trustWith(key));
    expect(r.report.error).toBe('signature does not verify with any trusted key');
  });

  it('verifies Ed25519, P-384 and RSA keys', async () => {
    for (const kind of ['ed25519', 'p384', 'rsa'] as const) {
      const k = makeKey(kind);
      const b = dsseBundle(k, statementFor([{ name: 'fn.zip', data }]));
      const r = await verifyBundle(
        b,
        { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) },
        trustWith(k),
      );
      expect(r.report.ok, kind).toBe(true);
    }
  });

  it('requires a log entry or a timestamp only when asked', async () => {
    const a: ArtifactInput = { kind: 'bytes', data };
    const tlog = await verifyBundle(bundle, a, { ...trustWith(key), requireTlog: true });
    expect(failing(tlog)).toBe('transparency-log');
    const ts = await verifyBundle(bundle, a, { ...trustWith(key), requireTimestamp: true });
    expect(failing(ts)).toBe('timestamps');
  });

  it('honours a trusted key validity window (needs a verified time)', async () => {
    const t: TrustOptions = {
      trustedRoot: root,
      keys: [{ id: 'npm', key: key.publicKey, validFor: { start: new Date(0) } }],
    };
    const r = await verifyBundle(bundle, { kind: 'bytes', data }, t);
    expect(failing(r)).toBe('key');
  });
});

describe('message signatures, key-based', () => {
  const bundle = messageBundle(key, data);
  it.each([
    ['file', { kind: 'file', path: file } as ArtifactInput],
    ['bytes', { kind: 'bytes', data } as ArtifactInput],
    ['digest', { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) } as ArtifactInput],
  ])('verifies with the artifact as %s', async (_f, artifact) => {
    const r = await verifyBundle(bundle, artifact, trustWith(key));
    expect(r.report.ok).toBe(true);
    expect(r.report.kind).toBe('message-signature');
    expect(r.report.checks.map((c) => c.name)).toEqual(['bundle-format', 'signature', 'message-digest']);
  });

  it.each([
    ['file', { kind: 'file', path: otherFile } as ArtifactInput],
    ['bytes', { kind: 'bytes', data: other } as ArtifactInput],
    ['digest', { kind: 'digest', algorithm: 'sha256', hex: sha256hex(other) } as ArtifactInput],
  ])('refuses a changed artifact given as %s', async (_f, artifact) => {
    const r = await verifyBundle(bundle, artifact, trustWith(key));
    expect(failing(r)).toBe('message-digest');
    expect(r.report.error).toContain('!= artifact sha256:');
  });

  it('refuses a swapped message digest even though the signature is over the real artifact', async () => {
    // What @sigstore/verify alone accepts without a log entry (NOTES.md).
    const swapped = clone(bundle) as { messageSignature: { messageDigest: { digest: string } } };
    swapped.messageSignature.messageDigest.digest = createHash('sha256').update(other).digest('base64');
    for (const artifact of [
      { kind: 'file', path: otherFile },
      { kind: 'bytes', data: other },
    ] as ArtifactInput[]) {
      const r = await verifyBundle(swapped, artifact, trustWith(key));
      expect(r.report.ok).toBe(false);
      expect(failing(r)).toBe('signature');
    }
    const r = await verifyBundle(
      swapped,
      { kind: 'digest', algorithm: 'sha256', hex: sha256hex(other) },
      trustWith(key),
    );
    expect(r.report.ok).toBe(false);
  });

  it('refuses the wrong key in every form', async () => {
    for (const artifact of [
      { kind: 'file', path: file },
      { kind: 'bytes', data },
      { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) },
    ] as ArtifactInput[]) {
      const r = await verifyBundle(bundle, artifact, trustWith(wrongKey));
      expect(failing(r), artifact.kind).toBe('signature');
    }
  });

  it('tries the second trusted key after streaming the file once', async () => {
    const r = await verifyBundle(bundle, { kind: 'file', path: file }, trustWith(wrongKey, key));
    expect(r.report.ok).toBe(true);
    expect(r.signer).toEqual({ kind: 'key', keyId: 'k1' });
  });

  it('verifies P-384 and RSA signatures from a digest (prehash)', async () => {
    for (const kind of ['p384', 'rsa'] as const) {
      const k = makeKey(kind);
      const b = messageBundle(k, data);
      const r = await verifyBundle(
        b,
        { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) },
        trustWith(k),
      );
      expect(r.report.ok, kind).toBe(true);
      const bad = await verifyBundle(
        b,
        { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) },
        trustWith(makeKey(kind)),
      );
      expect(bad.report.ok, kind).toBe(false);
    }
  });

  it('fails closed for Ed25519 from a digest, verifies it from the file', async () => {
    const k = makeKey('ed25519');
    const b = messageBundle(k, data);
    const d = await verifyBundle(
      b,
      { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) },
      trustWith(k),
    );
    expect(d.report.ok).toBe(false);
    expect(d.report.error).toContain('cannot be verified from a digest');
    expect((await verifyBundle(b, { kind: 'file', path: file }, trustWith(k))).report.ok).toBe(true);
  });

  it('accepts a high-S ECDSA signature in digest form as OpenSSL does', async () => {
    // noble rejects high-S by default; Sigstore signers do not normalise S.
    const b = clone(bundle) as { messageSignature: { signature: string } };
    b.messageSignature.signature = flipS(Buffer.from(b.messageSignature.signature, 'base64')).toString(
      'base64',
    );
    const viaFile = await verifyBundle(b, { kind: 'bytes', data }, trustWith(key));
    const viaDigest = await verifyBundle(
      b,
      { kind: 'digest', algorithm: 'sha256', hex: sha256hex(data) },
      trustWith(key),
    );
    expect(viaFile.report.ok).toBe(true);
    expect(viaDigest.report.ok).toBe(true);
  });

  it('refuses a digest of another algorithm than the bundle signs', async () => {
    const sha512 = createHash('sha512').update(data).digest('hex');
    const r = await verifyBundle(
      bundle,
      { kind: 'digest', algorithm: 'sha512', hex: sha512 },
      trustWith(key),
    );
    expect(failing(r)).toBe('message-digest');
  });
});

describe('malformed input is reported, never thrown', () => {
  it('reports invalid JSON from parseBundle', async () => {
    const parsed = parseBundle('{"mediaType":', 'broken.json');
    expect(parsed).toBeInstanceOf(VouchError);
    expect((parsed as VouchError).exitCode).toBe(2);
    const r = await verifyBundle(parsed, { kind: 'bytes', data }, trustWith(key), { source: 'broken.json' });
    expect(r.report.ok).toBe(false);
    expect(r.report.source).toBe('broken.json');
    expect(r.report.error).toMatch(/^bundle broken.json is not valid JSON/);
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'bundle'],
    ['no mediaType', {}],
    ['an unknown mediaType', { mediaType: 'application/vnd.dev.sigstore.bundle+json;version=99.9' }],
    [
      'no content',
      {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: { publicKey: { hint: 'x' }, tlogEntries: [] },
      },
    ],
    [
      'a wrong-typed field',
      {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: 7,
        dsseEnvelope: 'x',
      },
    ],
  ])('%s', async (_name, bundle) => {
    const r = await verifyBundle(bundle, { kind: 'bytes', data }, trustWith(key));
    expect(r.report.ok).toBe(false);
    expect(r.report.error).toBeTruthy();
    expect(r.report.checks.at(-1)?.ok).toBe(false);
  });

  it('records the sha256 of the bundle bytes', async () => {
    const bundle = messageBundle(key, data);
    const bytes = Buffer.from(JSON.stringify(bundle, null, 2));
    const r = await verifyBundle(parseBundle(bytes, 'b'), { kind: 'bytes', data }, trustWith(key), { bytes });
    expect(r.report.digest).toBe(`sha256:${sha256hex(bytes)}`);
  });

  it('throws for an unreadable artifact file (I/O, not a verdict)', async () => {
    const bundle = messageBundle(key, data);
    await expect(
      verifyBundle(bundle, { kind: 'file', path: path.join(dir, 'missing') }, trustWith(key)),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/** Re-encodes a DER ECDSA P-256 signature (r, s) with the high S of the pair (s, n - s). */
function flipS(der: Buffer): Buffer {
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  let o = 2;
  const rLen = der[o + 1]!;
  const r = der.subarray(o + 2, o + 2 + rLen);
  o += 2 + rLen;
  const sLen = der[o + 1]!;
  const s = BigInt('0x' + der.subarray(o + 2, o + 2 + sLen).toString('hex'));
  const s2 = s > n / 2n ? s : n - s;
  let hex = s2.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let sBytes = Buffer.from(hex, 'hex');
  if (sBytes[0]! & 0x80) sBytes = Buffer.concat([Buffer.from([0]), sBytes]);
  const body = Buffer.concat([Buffer.from([2, r.length]), r, Buffer.from([2, sBytes.length]), sBytes]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
