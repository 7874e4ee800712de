/**
 * Chained promotions dev → staging → prod with vouch's own VSAs: the second hop's policy has no
 * builders, only trustedVerifiers naming the first hop's VSA signer key; the VSA stands in for
 * the provenance evaluation. A VSA signed by another key is not evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, parseReference } from '../../src/oci/index.js';
import { loadPolicy } from '../../src/policy/index.js';
import { promote, VOUCH_VERIFIER_ID } from '../../src/promote/index.js';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { startRegistry } from '../support/registry.js';
import {
  attachProvenance,
  attachVulns,
  makeKeys,
  policyDoc,
  pushImage,
  signImage,
  tempDir,
  writePolicy,
  type Keys,
} from './promote-fixture.js';

type Reg = Awaited<ReturnType<typeof startRegistry>>;
let reg: Reg;
let dir: string;
let ci: Keys;
let gate1: Keys;
let gate2: Keys;
let other: Keys;
let trustedRoot: TrustedRootJSON;

beforeAll(async () => {
  reg = await startRegistry();
  dir = tempDir();
  [ci, gate1, gate2, other] = await Promise.all([
    makeKeys(dir, 'ci'),
    makeKeys(dir, 'gate1'),
    makeKeys(dir, 'gate2'),
    makeKeys(dir, 'other'),
  ]);
  trustedRoot = await loadTrustedRoot({ offline: true });
});
afterAll(async () => {
  await reg?.stop();
});

function hop2Policy(verifierKey: Keys, name: string): string {
  // No builders: level 3 can only come from a trusted verifier's VSA.
  return writePolicy(
    dir,
    {
      version: 1,
      signers: [{ name: 'ci', key: { path: ci.pub } }],
      minSlsaLevel: 3,
      trustedVerifiers: [{ id: VOUCH_VERIFIER_ID, signers: [{ key: { path: verifierKey.pub } }] }],
      promotion: { sources: [`${reg.host}/staging/*`], destinations: [`${reg.host}/prod/*`] },
    },
    name,
  );
}

describe('chained promotion with VSAs', () => {
  it('dev → staging (provenance) → prod (VSA from the first hop as evidence)', async () => {
    const img = await pushImage(`${reg.host}/dev/app:v1`);
    await signImage(img.store, img.desc, ci);
    await attachProvenance(img.store, img.desc, ci);
    await attachVulns(img.store, img.desc, ci, []);
    const p1 = writePolicy(dir, policyDoc(ci, [`${reg.host}/dev/*`], [`${reg.host}/staging/*`]), 'hop1.json');
    const hop1 = await promote({
      source: `${reg.host}/dev/app:v1`,
      destination: `${reg.host}/staging/app:v1`,
      policy: await loadPolicy(p1),
      trust: { trustedRoot },
      signer: gate1.spec,
      registry: { plainHttp: true },
    });
    expect(hop1.decision, hop1.reason).toBe('ALLOW');

    const hop2 = await promote({
      source: `${reg.host}/staging/app:v1`,
      destination: `${reg.host}/prod/app:v1`,
      policy: await loadPolicy(hop2Policy(gate1, 'hop2.json')),
      trust: { trustedRoot },
      signer: gate2.spec,
      registry: { plainHttp: true },
    });
    expect(hop2.decision, hop2.reason).toBe('ALLOW');
    expect(hop2.slsaLevel).toBe(3);
    // The second VSA rests on the first one, among others.
    const inputs = hop2.vsa!.statement.predicate.inputAttestations.map((a) => `sha256:${a.digest.sha256}`);
    expect(inputs).toContain(hop1.vsa!.bundleDigest);
    const prod = await openStore(parseReference(`${reg.host}/prod/app`), { plainHttp: true });
    expect((await prod.resolve('v1')).digest).toBe(img.desc.digest);
  });

  it('a VSA from an untrusted verifier key is no evidence: refused', async () => {
    const img = await pushImage(`${reg.host}/dev/other:v1`);
    await signImage(img.store, img.desc, ci);
    await attachProvenance(img.store, img.desc, ci);
    await attachVulns(img.store, img.desc, ci, []);
    const p1 = writePolicy(
      dir,
      policyDoc(ci, [`${reg.host}/dev/*`], [`${reg.host}/staging/*`]),
      'hop1b.json',
    );
    const hop1 = await promote({
      source: `${reg.host}/dev/other:v1`,
      destination: `${reg.host}/staging/other:v1`,
      policy: await loadPolicy(p1),
      trust: { trustedRoot },
      signer: other.spec,
      registry: { plainHttp: true },
    });
    expect(hop1.decision).toBe('ALLOW');
    const hop2 = await promote({
      source: `${reg.host}/staging/other:v1`,
      destination: `${reg.host}/prod/other:v1`,
      policy: await loadPolicy(hop2Policy(gate1, 'hop2b.json')),
      trust: { trustedRoot },
      signer: gate2.spec,
      registry: { plainHttp: true },
    });
    expect(hop2.decision).toBe('DENY');
    expect(hop2.slsaLevel).toBeLessThan(3);
  });
});
