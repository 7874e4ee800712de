/**
 * A keyless promoter: the VSA is signed with a Fulcio certificate for the promoter's OIDC
 * identity (local Sigstore stack over real HTTP), and the next hop trusts that identity as a
 * verifier. A Fulcio outage at step 5 leaves the destination tag untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, parseReference } from '../../src/oci/index.js';
import { loadPolicy } from '../../src/policy/index.js';
import { promote, VOUCH_VERIFIER_ID } from '../../src/promote/index.js';
import type { SignerSpec } from '../../src/signing/index.js';
import { startRegistry } from '../support/registry.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';
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
let stack: SigstoreStack;
let dir: string;
let ci: Keys;
const GATE = 'release-gate@vouch.test';

beforeAll(async () => {
  [reg, stack] = await Promise.all([startRegistry(), startSigstoreStack()]);
  dir = tempDir();
  ci = await makeKeys(dir, 'ci');
});
afterAll(async () => {
  await Promise.all([reg?.stop(), stack?.stop()]);
});

function keyless(): SignerSpec {
  return {
    kind: 'keyless',
    identityToken: stack.issueToken({ sub: GATE, email: GATE }),
    fulcioUrl: stack.fulcioUrl,
    rekorUrl: stack.rekorUrl,
    tsaUrl: stack.tsaUrl,
    env: {},
  };
}

async function attested(repo: string) {
  const img = await pushImage(`${reg.host}/dev/${repo}:v1`);
  await signImage(img.store, img.desc, ci);
  await attachProvenance(img.store, img.desc, ci);
  await attachVulns(img.store, img.desc, ci, []);
  return img;
}

describe('keyless VSA signing', () => {
  it('signs the VSA keylessly; the next hop accepts it from the trusted verifier identity', async () => {
    const img = await attested('app');
    const p1 = writePolicy(dir, policyDoc(ci, [`${reg.host}/dev/*`], [`${reg.host}/staging/*`]), 'hop1.json');
    const hop1 = await promote({
      source: img.name,
      destination: `${reg.host}/staging/app:v1`,
      policy: await loadPolicy(p1),
      trust: { trustedRoot: stack.trustedRoot as never },
      signer: keyless(),
      registry: { plainHttp: true },
    });
    expect(hop1.decision, hop1.reason).toBe('ALLOW');
    expect(hop1.vsa?.signer).toContain(GATE);

    const p2 = writePolicy(
      dir,
      {
        version: 1,
        signers: [{ name: 'ci', key: { path: ci.pub } }],
        minSlsaLevel: 3,
        trustedVerifiers: [
          { id: VOUCH_VERIFIER_ID, signers: [{ identity: { issuer: stack.issuer, subject: GATE } }] },
        ],
        promotion: { sources: [`${reg.host}/staging/*`], destinations: [`${reg.host}/prod/*`] },
      },
      'hop2.json',
    );
    const hop2 = await promote({
      source: `${reg.host}/staging/app:v1`,
      destination: `${reg.host}/prod/app:v1`,
      policy: await loadPolicy(p2),
      trust: { trustedRoot: stack.trustedRoot as never },
      signer: ci.spec,
      registry: { plainHttp: true },
    });
    expect(hop2.decision, hop2.reason).toBe('ALLOW');
    expect(hop2.slsaLevel).toBe(3);
  });

  it('Fulcio down at step 5: exit 3, the step named, the destination tag untouched; then it completes', async () => {
    const img = await attested('outage');
    const p1 = writePolicy(
      dir,
      policyDoc(ci, [`${reg.host}/dev/*`], [`${reg.host}/staging/*`]),
      'hop1b.json',
    );
    const run = async () =>
      promote({
        source: img.name,
        destination: `${reg.host}/staging/outage:v1`,
        policy: await loadPolicy(p1),
        trust: { trustedRoot: stack.trustedRoot as never },
        signer: keyless(),
        registry: { plainHttp: true },
      });
    stack.faults.fulcio = 500;
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    stack.faults.fulcio = undefined;
    expect(err).toMatchObject({ exitCode: 3 });
    expect((err as Error).message).toMatch(/^promotion failed at step 5 \(vsa\): .*fulcio/i);
    const staging = await openStore(parseReference(`${reg.host}/staging/outage`), { plainHttp: true });
    expect(await staging.listTags().catch(() => [])).not.toContain('v1');
    const again = await run();
    expect(again.decision, again.reason).toBe('ALLOW');
    expect((await staging.resolve('v1')).digest).toBe(img.desc.digest);
  });
});
