/**
 * Promotion works the same way between two OCI image layouts (the embedded default, no server)
 * and from a layout to a real registry: same digest, referrers plus a VSA, tag last.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listReferrers, openStore, parseReference } from '../../src/oci/index.js';
import { loadPolicy } from '../../src/policy/index.js';
import { promote, VSA_PREDICATE_TYPE } from '../../src/promote/index.js';
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
  UNTRUSTED_BUILDER,
  writePolicy,
  type Keys,
} from './promote-fixture.js';

type Reg = Awaited<ReturnType<typeof startRegistry>>;
let reg: Reg;
let dir: string;
let keys: Keys;
let trustedRoot: TrustedRootJSON;

beforeAll(async () => {
  reg = await startRegistry();
  dir = tempDir();
  keys = await makeKeys(dir);
  trustedRoot = await loadTrustedRoot({ offline: true });
});
afterAll(async () => {
  await reg?.stop();
});

async function attested(ref: string, builderId?: string) {
  const img = await pushImage(ref);
  await signImage(img.store, img.desc, keys);
  await attachProvenance(img.store, img.desc, keys, builderId ? { builderId } : {});
  await attachVulns(img.store, img.desc, keys, []);
  return img;
}

describe('promote with OCI layouts', () => {
  it('layout → layout, with relative oci: patterns resolved against the policy directory', async () => {
    const img = await attested(`oci:${dir}/staging:v1`);
    const policyPath = writePolicy(dir, policyDoc(keys, ['oci:staging'], ['oci:prod']), 'layout-policy.json');
    const r = await promote({
      source: `oci:${dir}/staging:v1`,
      destination: `oci:${dir}/prod:v1`,
      policy: await loadPolicy(policyPath),
      trust: { trustedRoot },
      signer: keys.spec,
    });
    expect(r.decision, r.reason).toBe('ALLOW');
    const prod = await openStore(parseReference(`oci:${dir}/prod`));
    expect((await prod.resolve('v1')).digest).toBe(img.desc.digest);
    const types = (await listReferrers(prod, img.desc)).map(
      (d) => d.annotations?.['dev.sigstore.bundle.predicateType'],
    );
    expect(types).toContain(VSA_PREDICATE_TYPE);
    expect(types).toHaveLength(4);
    expect(r.vsa?.statement.predicate.resourceUri).toBe(`oci:${path.join(dir, 'prod')}@${img.desc.digest}`);
  });

  it('layout → layout refusal leaves no tag in the destination layout', async () => {
    const img = await attested(`oci:${dir}/staging:bad`, UNTRUSTED_BUILDER);
    const policyPath = writePolicy(dir, policyDoc(keys, ['oci:staging'], ['oci:prod']), 'layout-policy.json');
    const r = await promote({
      source: `oci:${dir}/staging:bad`,
      destination: `oci:${dir}/prod:bad`,
      policy: await loadPolicy(policyPath),
      trust: { trustedRoot },
      signer: keys.spec,
    });
    expect(r.decision).toBe('DENY');
    const prod = await openStore(parseReference(`oci:${dir}/prod`));
    expect(await prod.hasManifest(img.desc.digest)).toBe(false);
    expect(await prod.listTags()).not.toContain('bad');
  });

  it('layout → registry', async () => {
    const img = await attested(`oci:${dir}/build:v2`);
    const policyPath = writePolicy(
      dir,
      policyDoc(keys, [`oci:${dir}/build`], [`${reg.host}/prod/*`]),
      'mixed-policy.json',
    );
    const r = await promote({
      source: `oci:${dir}/build:v2`,
      destination: `${reg.host}/prod/app:v2`,
      policy: await loadPolicy(policyPath),
      trust: { trustedRoot },
      signer: keys.spec,
      registry: { plainHttp: true },
    });
    expect(r.decision, r.reason).toBe('ALLOW');
    const dst = await openStore(parseReference(`${reg.host}/prod/app`), { plainHttp: true });
    expect((await dst.resolve('v2')).digest).toBe(img.desc.digest);
    expect(await listReferrers(dst, img.desc)).toHaveLength(4);
  });
});
