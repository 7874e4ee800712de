/** Reads a corpora LISTING.tsv (columns path, what, expected_outcome; see ../shared/corpora/README.md). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createPublicKey } from 'node:crypto';
import type { TrustedKey } from '../../src/verify/bundle.js';

export const CORPORA = path.resolve(__dirname, '../../../shared/corpora');
export const PROD_ROOT = path.join(
  CORPORA,
  'sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json',
);
export const GITHUB_ROOT = path.join(
  CORPORA,
  'sigstore-rust/crates/sigstore-trust-root/src/trusted_root_github.json',
);
export const GHA_ISSUER = 'https://token.actions.githubusercontent.com';

export interface ListingRow {
  path: string;
  file: string;
  what: string;
  expected: string;
}

export function listing(corpus: string): ListingRow[] {
  const text = readFileSync(path.join(CORPORA, corpus, 'LISTING.tsv'), 'utf8');
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => {
      const [p = '', what = '', expected = ''] = l.split('\t');
      return { path: p, file: path.join(CORPORA, corpus, p), what, expected };
    });
}

/** Bundles in a file: one JSON bundle, JSON lines, or npm's `{attestations: [{bundle}]}`. */
export function bundlesIn(file: string): { text: string; bundle: unknown }[] {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.jsonl'))
    return text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => ({ text: l, bundle: JSON.parse(l) as unknown }));
  const json = JSON.parse(text) as { attestations?: { bundle: unknown }[] };
  if (Array.isArray(json.attestations))
    return json.attestations.map((a) => ({ text: JSON.stringify(a.bundle), bundle: a.bundle }));
  return [{ text, bundle: json }];
}

/** The artifact next to a provenance file (`X.intoto.jsonl` → `X`), when the corpus has it. */
export function artifactBeside(file: string): string | undefined {
  for (const suffix of [
    '.intoto.build.slsa',
    '.build.slsa',
    '.intoto.sigstore',
    '.intoto.jsonl',
    '.json',
    '.sigstore',
  ]) {
    if (file.endsWith(suffix) && existsSync(file.slice(0, -suffix.length)))
      return file.slice(0, -suffix.length);
  }
  return undefined;
}

/** npm's registry attestation keys (TUF target registry.npmjs.org/keys.json), with their validity. */
export function npmAttestationKeys(): TrustedKey[] {
  const doc = JSON.parse(
    readFileSync(
      path.join(CORPORA, 'sigstore-js/packages/tuf/seeds-decoded/registry.npmjs.org_keys.json'),
      'utf8',
    ),
  ) as {
    keys: {
      keyId: string;
      keyUsage: string;
      publicKey: { rawBytes: string; validFor: { start: string; end?: string } };
    }[];
  };
  return doc.keys
    .filter((k) => k.keyUsage === 'npm:attestations')
    .map((k) => ({
      id: k.keyId,
      key: createPublicKey({ key: Buffer.from(k.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' }),
      validFor: {
        start: new Date(k.publicKey.validFor.start),
        ...(k.publicKey.validFor.end ? { end: new Date(k.publicKey.validFor.end) } : {}),
      },
    }));
}
