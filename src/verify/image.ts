/**
 * Verifying an image (registry or OCI layout) by digest: discover the bundles attached as
 * referrers, verify each against the image digest, and evaluate the policy. The caller resolves
 * a tag to a digest once; everything here works on the digest.
 */
import { discoverBundles } from '../bundles/index.js';
import type { Descriptor, ImageIndex, Store } from '../oci/index.js';
import { MediaType } from '../oci/index.js';
import type { LoadedPolicy, SlsaLevel } from '../policy/index.js';
import type { TrustOptions } from './bundle.js';
import { verifyBundles } from './pool.js';
import type { Expectations } from './expectations.js';
import { unreadable } from './artifact.js';
import { planVerification, type VerificationPlan } from './plan.js';
import { buildVerdict, type FoundBundle, type VerdictWithInputs } from './verdict.js';

export interface VerifyImageOptions {
  minSlsaLevel?: SlsaLevel;
  /** Extra expectations (flags) on top of the policy. */
  expectations?: Expectations;
}

/** The library entry point promotion uses: any Store, a digest-pinned subject, a loaded policy. */
export async function verifyImage(
  store: Store,
  subject: Descriptor,
  policy: LoadedPolicy,
  trust: TrustOptions,
  opts: VerifyImageOptions = {},
): Promise<VerdictWithInputs> {
  const expectations: Expectations = { ...(opts.expectations ?? {}) };
  if (opts.minSlsaLevel !== undefined)
    expectations.minSlsaLevel = Math.max(opts.minSlsaLevel, expectations.minSlsaLevel ?? 0) as SlsaLevel;
  const plan = await planVerification({ trust, policy, expectations });
  return verifyImageWithPlan(store, subject, plan);
}

function isIndex(d: Descriptor): boolean {
  return d.mediaType === MediaType.ociIndex || d.mediaType === MediaType.dockerManifestList;
}

/** Platform images of an index, without BuildKit's attestation manifests. */
function platformChildren(index: ImageIndex): Descriptor[] {
  return index.manifests.filter(
    (m) =>
      m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
      !(m.platform?.os === 'unknown' && m.platform?.architecture === 'unknown'),
  );
}

export async function verifyImageWithPlan(
  store: Store,
  subject: Descriptor,
  plan: VerificationPlan,
): Promise<VerdictWithInputs> {
  const name = `${store.name}@${subject.digest}`;
  const [alg, hex] = subject.digest.split(':') as ['sha256' | 'sha512', string];
  const discovered = await discoverBundles(store, subject);
  const readable = discovered.filter((d) => d.error === undefined && d.bundle !== undefined);
  const verified = await verifyBundles(
    readable.map((d) => ({
      bundle: d.bundle,
      artifact: { kind: 'digest', algorithm: alg, hex },
      source: d.referrer.digest,
      bytes: d.bytes,
    })),
    plan.trust,
  );
  const found: FoundBundle[] = discovered.map((d): FoundBundle => {
    const i = readable.indexOf(d);
    return i >= 0
      ? { verified: verified[i]! }
      : { unreadable: unreadable(d.referrer.digest, d.error ?? 'no bundle', d.bytes) };
  });
  const verdict = buildVerdict(name, subject.digest, found, plan);

  if (plan.policy.require?.allPlatforms && isIndex(subject)) {
    const index = (await store.fetchManifest(subject)).manifest as ImageIndex;
    const children = platformChildren(index);
    if (children.length === 0) {
      verdict.checks.push({
        name: 'all platforms',
        ok: false,
        field: 'require.allPlatforms',
        detail: 'the index lists no platform images',
      });
    }
    for (const child of children) {
      const v = await verifyImageWithPlan(store, child, {
        ...plan,
        policy: { ...plan.policy, require: { ...plan.policy.require, allPlatforms: false } },
      });
      const p = child.platform
        ? `${child.platform.os}/${child.platform.architecture}${child.platform.variant ? `/${child.platform.variant}` : ''}`
        : child.digest;
      verdict.checks.push(
        v.ok
          ? {
              name: `platform ${p}`,
              ok: true,
              field: 'require.allPlatforms',
              detail: `${child.digest} verified (level ${v.slsaLevel})`,
            }
          : {
              name: `platform ${p}`,
              ok: false,
              field: 'require.allPlatforms',
              detail: `${child.digest}: ${v.reason}`,
            },
      );
      verdict.bundles.push(...v.bundles);
      verdict.inputAttestations.push(...v.inputAttestations);
      if (v.slsaLevel < verdict.slsaLevel) {
        verdict.slsaLevel = v.slsaLevel;
        verdict.levelReason = `platform ${p}: ${v.levelReason}`;
      }
    }
    const failed = verdict.checks.find((c) => !c.ok);
    verdict.ok = !failed;
    verdict.reason = failed ? failed.detail : 'all checks passed';
  }
  return verdict;
}
