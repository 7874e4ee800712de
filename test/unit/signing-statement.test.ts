import { describe, expect, it } from 'vitest';
import {
  attestationBundlePath,
  checkPredicateType,
  imageSignatureStatement,
  parseSigningConfig,
  predicateShortName,
  preAuthEncoding,
  statement,
} from '../../src/signing/index.js';
import { bundleAnnotations, packageMediaType } from '../../src/bundles/index.js';

const hex = 'cd'.repeat(32);

describe('statements and names', () => {
  it("builds cosign v3's image signature statement", () => {
    expect(imageSignatureStatement('127.0.0.1:5000/demo/app', `sha256:${hex}`)).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: '127.0.0.1:5000/demo/app', digest: { sha256: hex } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    });
  });

  it('refuses non-object predicates and non-URI predicate types', () => {
    expect(() => statement([{ name: 'x', digest: { sha256: hex } }], 'https://x.test/p/v1', [])).toThrow(
      /JSON object/,
    );
    expect(() => checkPredicateType('provenance')).toThrow(/absolute URI/);
  });

  it('names attestation bundles after the predicate type', () => {
    expect(predicateShortName('https://slsa.dev/provenance/v1')).toBe('provenance');
    expect(predicateShortName('https://in-toto.io/attestation/vulns/v0.2')).toBe('vulns');
    expect(predicateShortName('https://slsa.dev/verification_summary/v1')).toBe('verification_summary');
    expect(predicateShortName('https://example.com')).toBe('example-com');
    expect(attestationBundlePath('dist/fn.zip', 'https://slsa.dev/provenance/v1')).toBe(
      'dist/fn.zip.provenance.sigstore.json',
    );
  });

  it('computes the DSSE v1 pre-authentication encoding', () => {
    expect(preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('maps function package names to layer media types', () => {
    expect(packageMediaType('a/fn.zip')).toBe('application/zip');
    expect(packageMediaType('App.JAR')).toBe('application/java-archive');
    expect(packageMediaType('x.tar.gz')).toBe('application/gzip');
    expect(packageMediaType('x.tgz')).toBe('application/gzip');
    expect(packageMediaType('bootstrap')).toBe('application/octet-stream');
  });

  it('derives the referrer annotations from the bundle', () => {
    const payload = Buffer.from(JSON.stringify({ predicateType: 'https://slsa.dev/provenance/v1' })).toString(
      'base64',
    );
    expect(bundleAnnotations({ dsseEnvelope: { payload } })).toEqual({
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
    });
    expect(bundleAnnotations({ messageSignature: {} })).toEqual({
      'dev.sigstore.bundle.content': 'message-signature',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
    });
    expect(() => bundleAnnotations({})).toThrow(/neither/);
  });
});

describe('signing config', () => {
  const base = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [{ url: 'https://fulcio.test', majorApiVersion: 1, validFor: { start: '2022-01-01T00:00:00Z' } }],
    rekorTlogUrls: [
      { url: 'https://rekor.test', majorApiVersion: 1, validFor: { start: '2021-01-01T00:00:00Z' } },
      { url: 'https://log2025.rekor.test', majorApiVersion: 2, validFor: { start: '2025-01-01T00:00:00Z' } },
      { url: 'https://future.rekor.test', majorApiVersion: 3, validFor: { start: '2025-06-01T00:00:00Z' } },
    ],
    tsaUrls: [
      {
        url: 'https://tsa.test/api/v1/timestamp',
        majorApiVersion: 1,
        validFor: { start: '2025-01-01T00:00:00Z' },
      },
    ],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };

  it('picks the newest valid service of a supported API version', () => {
    expect(parseSigningConfig(base, 'cfg')).toEqual({
      fulcioUrl: 'https://fulcio.test',
      tlog: { url: 'https://log2025.rekor.test', majorApiVersion: 2 },
      tsaUrl: 'https://tsa.test/api/v1/timestamp',
    });
  });

  it('skips ended services and refuses other media types and selectors', () => {
    const ended = {
      ...base,
      rekorTlogUrls: [
        base.rekorTlogUrls[0],
        {
          ...base.rekorTlogUrls[1],
          validFor: { start: '2025-01-01T00:00:00Z', end: '2025-02-01T00:00:00Z' },
        },
      ],
    };
    expect(parseSigningConfig(ended, 'cfg').tlog).toEqual({ url: 'https://rekor.test', majorApiVersion: 1 });
    expect(() => parseSigningConfig({ ...base, mediaType: 'x' }, 'cfg')).toThrow(/mediaType/);
    expect(() => parseSigningConfig({ ...base, tsaConfig: { selector: 'EXACT' } }, 'cfg')).toThrow(
      /selector/,
    );
  });
});
