import { readFileSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from '@sigstore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import { derUtf8String } from '../../src/verify/identity.js';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import {
  assertTrustStated,
  certificateIdentity,
  matchIdentity,
  verifyBundle,
  type ArtifactInput,
} from '../../src/verify/bundle.js';

// sigstore-conformance vectors (../shared/corpora, see its README).
const CASES = path.resolve(
  __dirname,
  '../../../shared/corpora/sigstore-conformance/test/assets/bundle-verify',
);
const ID =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISS = 'https://token.actions.githubusercontent.com';
const load = (name: string) =>
  JSON.parse(readFileSync(path.join(CASES, name, 'bundle.sigstore.json'), 'utf8')) as Record<string, unknown>;
const artifact: ArtifactInput = { kind: 'file', path: path.join(CASES, 'a.txt') };

let root: TrustedRootJSON;
beforeAll(async () => {
  root = await loadTrustedRoot({ offline: true });
});

function leafOf(bundle: Record<string, unknown>): X509Certificate {
  const vm = bundle.verificationMaterial as {
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
  };
  const raw = vm.certificate?.rawBytes ?? vm.x509CertificateChain!.certificates[0]!.rawBytes;
  return X509Certificate.parse(Buffer.from(raw, 'base64'));
}

describe('certificate identity', () => {
  it('reads the SAN and the Fulcio issuer (DER UTF8String, .1.8) and the legacy .1.1', () => {
    const id = certificateIdentity(leafOf(load('happy-path-v0.3')));
    expect(id.subject).toBe(ID);
    expect(id.issuer).toBe(ISS);
    expect(id.extensions['1.3.6.1.4.1.57264.1.8']).toBe(ISS);
    expect(id.extensions['1.3.6.1.4.1.57264.1.1']).toBe(ISS);
    // a non-legacy extension decoded from DER, e.g. the source repository URI (.1.12)
    expect(id.extensions['1.3.6.1.4.1.57264.1.12']).toMatch(/^https:\/\/github\.com\//);
  });
});

describe('derUtf8String (non-legacy Fulcio extensions)', () => {
  it('decodes short and long-form lengths and refuses anything else', () => {
    expect(derUtf8String(Buffer.from([0x0c, 3, 0x61, 0x62, 0x63]))).toBe('abc');
    const long = 'x'.repeat(300);
    expect(derUtf8String(Buffer.concat([Buffer.from([0x0c, 0x82, 0x01, 0x2c]), Buffer.from(long)]))).toBe(
      long,
    );
    expect(derUtf8String(Buffer.from([0x13, 3, 0x61, 0x62, 0x63]))).toBeUndefined(); // PrintableString
    expect(derUtf8String(Buffer.from([0x0c, 4, 0x61, 0x62, 0x63]))).toBeUndefined(); // truncated
    expect(derUtf8String(Buffer.from([0x0c, 2, 0x61, 0x62, 0x63]))).toBeUndefined(); // trailing bytes
    expect(derUtf8String(Buffer.from('https://token.actions.githubusercontent.com'))).toBeUndefined(); // raw legacy form
  });
});

describe('matchIdentity', () => {
  const id = {
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
    issuer: ISS,
    extensions: {},
  };
  it('compares exactly by default', () => {
    expect(matchIdentity(id, [{ subject: id.subject, issuer: ISS }]).ok).toBe(true);
    const r = matchIdentity(id, [{ subject: 'https://github.com/acme/app', issuer: ISS }]);
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(`certificate identity "${id.subject}" != expected "https://github.com/acme/app"`);
  });
  it('never treats a plain string as a regexp (substring or ".")', () => {
    expect(matchIdentity(id, [{ subject: 'acme', issuer: ISS }]).ok).toBe(false);
    expect(matchIdentity(id, [{ subject: '.', issuer: ISS }]).ok).toBe(false);
  });
  it('anchors regexps at both ends', () => {
    expect(matchIdentity(id, [{ subjectRegexp: 'https://github\\.com/acme/.*', issuer: ISS }]).ok).toBe(true);
    expect(matchIdentity(id, [{ subjectRegexp: 'acme', issuer: ISS }]).ok).toBe(false);
    expect(matchIdentity(id, [{ subjectRegexp: 'https://github\\.com/acme/app', issuer: ISS }]).ok).toBe(
      false,
    );
    expect(matchIdentity(id, [{ subjectRegexp: '.*', issuerRegexp: 'https://token\\.actions' }]).ok).toBe(
      false,
    );
    // alternation cannot escape the anchors
    expect(matchIdentity(id, [{ subjectRegexp: 'nope|acme', issuer: ISS }]).ok).toBe(false);
  });
  it('checks the issuer', () => {
    const r = matchIdentity(id, [{ subject: id.subject, issuer: 'https://accounts.google.com' }]);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain(
      'certificate issuer "https://token.actions.githubusercontent.com" != expected "https://accounts.google.com"',
    );
  });
  it('never matches a certificate without a SAN identity, not even with .*', () => {
    expect(
      matchIdentity({ subject: '', issuer: ISS, extensions: {} }, [
        { subjectRegexp: '.*', issuerRegexp: '.*' },
      ]).ok,
    ).toBe(false);
  });
  it('accepts when any matcher matches, and an empty matcher matches nothing', () => {
    expect(
      matchIdentity(id, [
        { subject: 'x', issuer: ISS },
        { subject: id.subject, issuer: ISS },
      ]).ok,
    ).toBe(true);
    expect(matchIdentity(id, [{}]).ok).toBe(false);
    expect(matchIdentity(id, [{ issuer: ISS }]).ok).toBe(false);
    expect(matchIdentity(id, []).ok).toBe(false);
  });
});

describe('assertTrustStated', () => {
  const code = (f: () => void) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(VouchError);
      return [(e as VouchError).exitCode, (e as VouchError).code];
    }
    return undefined;
  };
  it('refuses verification without any identity or key (exit 2)', () => {
    expect(code(() => assertTrustStated({}))).toEqual([2, 'TRUST_NOT_STATED']);
    expect(code(() => assertTrustStated({ identities: [], keys: [] }))).toEqual([2, 'TRUST_NOT_STATED']);
  });
  it('refuses half an identity and invalid regexps', () => {
    expect(code(() => assertTrustStated({ identities: [{ subject: ID }] }))).toEqual([
      2,
      'IDENTITY_INCOMPLETE',
    ]);
    expect(code(() => assertTrustStated({ identities: [{ issuer: ISS }] }))).toEqual([
      2,
      'IDENTITY_INCOMPLETE',
    ]);
    expect(code(() => assertTrustStated({ identities: [{ subjectRegexp: '(', issuer: ISS }] }))).toEqual([
      2,
      'REGEXP_INVALID',
    ]);
  });
  it('accepts a key or a complete identity', () => {
    expect(code(() => assertTrustStated({ keys: [{}] }))).toBeUndefined();
    expect(
      code(() => assertTrustStated({ identities: [{ subject: ID, issuerRegexp: 'https://.*' }] })),
    ).toBeUndefined();
  });
});

describe('keyless verification applies the identity', () => {
  const bundle = load('happy-path-v0.3');
  it('passes with the exact identity and reports the signer', async () => {
    const r = await verifyBundle(bundle, artifact, {
      trustedRoot: root,
      identities: [{ subject: ID, issuer: ISS }],
    });
    expect(r.report.ok).toBe(true);
    expect(r.signer).toMatchObject({ kind: 'certificate', subject: ID, issuer: ISS });
    expect(r.report.signer).toBe(ID);
    expect(r.signedAt).toBeInstanceOf(Date);
    expect(r.report.timestamps?.[0]?.source).toMatch(/^rekor:/);
    expect(r.report.checks.map((c) => c.name)).toEqual([
      'bundle-format',
      'transparency-log',
      'timestamps',
      'certificate',
      'signature',
      'message-digest',
      'identity',
    ]);
  });
  it('fails on another identity with a precise message', async () => {
    const r = await verifyBundle(bundle, artifact, {
      trustedRoot: root,
      identities: [{ subject: 'https://github.com/acme/app', issuer: ISS }],
    });
    expect(r.report.ok).toBe(false);
    expect(r.report.error).toBe(`certificate identity "${ID}" != expected "https://github.com/acme/app"`);
    expect(r.signer).toBeUndefined();
  });
  it('fails on an unanchored prefix regexp and on another issuer', async () => {
    const prefix = await verifyBundle(bundle, artifact, {
      trustedRoot: root,
      identities: [{ subjectRegexp: 'https://github\\.com/sigstore-conformance', issuer: ISS }],
    });
    expect(prefix.report.ok).toBe(false);
    const issuer = await verifyBundle(bundle, artifact, {
      trustedRoot: root,
      identities: [{ subject: ID, issuer: 'https://accounts.google.com' }],
    });
    expect(issuer.report.ok).toBe(false);
  });
  it('refuses a keyless bundle when only keys are trusted', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const r = await verifyBundle(bundle, artifact, {
      trustedRoot: root,
      keys: [{ key: generateKeyPairSync('ed25519').publicKey }],
    });
    expect(r.report.error).toBe('no trusted identity stated for a keyless bundle');
  });
});
