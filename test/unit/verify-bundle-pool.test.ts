import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { verifyBundle, type ArtifactInput, type TrustOptions } from '../../src/verify/bundle.js';
import { verifyBundles, type BundleItem } from '../../src/verify/pool.js';
import { dsseBundle, makeKey, statementFor } from './verify-bundle-fixtures.js';

const CASES = path.resolve(
  __dirname,
  '../../../shared/corpora/sigstore-conformance/test/assets/bundle-verify',
);
const ID =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const a: ArtifactInput = { kind: 'file', path: path.join(CASES, 'a.txt') };
const load = (n: string) =>
  JSON.parse(readFileSync(path.join(CASES, n, 'bundle.sigstore.json'), 'utf8')) as unknown;
const BUILT_WORKER = path.resolve(__dirname, '../../dist/src/verify/worker.js');

let trust: TrustOptions;
let root: TrustedRootJSON;
const key = makeKey();
const data = Buffer.from('pool');
beforeAll(async () => {
  root = await loadTrustedRoot({ offline: true });
  trust = {
    trustedRoot: root,
    identities: [{ subject: ID, issuer: 'https://token.actions.githubusercontent.com' }],
    keys: [{ id: 'k', key: key.publicKey }],
  };
});

function items(): BundleItem[] {
  const keyless = [
    'happy-path-v0.1',
    'happy-path-v0.2',
    'happy-path-v0.3',
    'signature-mismatch_fail',
    'wrong-material_fail',
    'checkpoint-wrong-roothash_fail',
  ];
  const out: BundleItem[] = [];
  for (let i = 0; i < 3; i++)
    for (const n of keyless) out.push({ bundle: load(n), artifact: a, source: `${n}#${i}` });
  out.splice(5, 0, {
    bundle: dsseBundle(key, statementFor([{ name: 'x', data }])),
    artifact: { kind: 'bytes', data },
    source: 'keyed',
  });
  out.splice(9, 0, { bundle: { broken: true }, artifact: { kind: 'bytes', data }, source: 'broken' });
  return out;
}

describe('verifyBundles', () => {
  it('returns the same reports as verifyBundle, in input order, using worker threads', async () => {
    const list = items();
    const stats = { workers: 0, inWorkers: 0 };
    const got = await verifyBundles(list, trust, { concurrency: 2, stats });
    const want = await Promise.all(
      list.map((it) => verifyBundle(it.bundle, it.artifact, trust, { source: it.source })),
    );
    expect(got.map((r) => [r.report.source, r.report.ok, r.report.error])).toEqual(
      want.map((r) => [r.report.source, r.report.ok, r.report.error]),
    );
    expect(got.find((r) => r.report.source === 'keyed')?.report.ok).toBe(true);
    expect(got.find((r) => r.report.source === 'broken')?.report.ok).toBe(false);
    expect(
      got.filter((r) => r.report.source.startsWith('signature-mismatch_fail')).map((r) => r.report.ok),
    ).toEqual([false, false, false]);
    expect(got.filter((r) => r.report.source.startsWith('happy-path')).every((r) => r.report.ok)).toBe(true);
    expect(got[0]!.signedAt).toBeInstanceOf(Date);
    // the built worker exists after `npm run build` (pretest); then keyless bundles go to workers
    if (existsSync(BUILT_WORKER)) expect(stats).toEqual({ workers: 2, inWorkers: 18 });
  });

  it('runs in-process with concurrency 1 or few bundles', async () => {
    const stats = { workers: -1, inWorkers: -1 };
    const got = await verifyBundles(items().slice(0, 4), trust, { concurrency: 4, stats });
    expect(stats.workers).toBe(0);
    expect(got.map((r) => r.report.ok)).toEqual([true, true, true, false]);
  });

  it('falls back to in-process verification when workers cannot take the trust', async () => {
    // a function cannot be cloned into a worker thread
    const odd = { ...trust, extra: () => undefined } as unknown as TrustOptions;
    const got = await verifyBundles(items(), odd, { concurrency: 2 });
    expect(got.filter((r) => r.report.source.startsWith('happy-path')).every((r) => r.report.ok)).toBe(true);
    expect(got).toHaveLength(20);
  });

  it('propagates an artifact I/O error instead of a verdict', async () => {
    const list = items().map((it) => ({
      ...it,
      artifact: { kind: 'file', path: path.join(CASES, 'no-such-file') } as ArtifactInput,
    }));
    await expect(verifyBundles(list, trust, { concurrency: 2 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
