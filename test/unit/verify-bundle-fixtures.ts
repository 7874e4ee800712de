/**
 * Bundles signed in-process with throwaway keys, for the verify-bundle unit tests. Built with
 * @sigstore/bundle's own builders so that the shape is what a real signer writes.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { bundleToJSON, toDSSEBundle, toMessageSignatureBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';

export type KeyKind = 'p256' | 'p384' | 'ed25519' | 'rsa';

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kind: KeyKind;
}

export function makeKey(kind: KeyKind = 'p256'): TestKey {
  const pair =
    kind === 'p256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : kind === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
        : kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ed25519');
  return { ...pair, kind };
}

export function sha256hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function statementFor(
  subjects: { name: string; data?: Buffer; digest?: Record<string, string> }[],
  predicateType = 'https://slsa.dev/provenance/v1',
) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: subjects.map((s) => ({ name: s.name, digest: s.digest ?? { sha256: sha256hex(s.data!) } })),
    predicateType,
    predicate: { buildDefinition: { buildType: 'https://example.com/test' } },
  };
}

/** A key-signed DSSE bundle (v0.3) over `payload`, JSON form. */
export function dsseBundle(
  key: TestKey,
  payload: unknown,
  opts: { payloadType?: string; hint?: string } = {},
): Record<string, unknown> {
  const payloadType = opts.payloadType ?? 'application/vnd.in-toto+json';
  const artifact = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const pae = dsse.preAuthEncoding(payloadType, artifact);
  const signature = sign(key.kind === 'ed25519' ? null : 'sha256', pae, key.privateKey);
  const b = toDSSEBundle({
    artifact,
    artifactType: payloadType,
    signature,
    keyHint: opts.hint ?? 'test-key',
  });
  return bundleToJSON(b) as unknown as Record<string, unknown>;
}

/** A key-signed message-signature bundle over `data`, JSON form. */
export function messageBundle(
  key: TestKey,
  data: Buffer,
  opts: { hint?: string } = {},
): Record<string, unknown> {
  const digest = createHash('sha256').update(data).digest();
  const signature = sign(key.kind === 'ed25519' ? null : 'sha256', data, key.privateKey);
  const b = toMessageSignatureBundle({ digest, signature, keyHint: opts.hint ?? 'test-key' });
  return bundleToJSON(b) as unknown as Record<string, unknown>;
}

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
