/**
 * The promotion gate between two real registries (Debian docker-registry): the happy path with
 * signature + L3 provenance + vulns attestation, and every refusal the issue lists — each with
 * the reason in the result and the decision log, and the destination untouched.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDssePayload } from '../../src/attestation/index.js';
import { discoverBundles } from '../../src/bundles/index.js';
import { listReferrers, openStore, parseReference, type Store } from '../../src/oci/index.js';
import { decisionSchemaProblems, loadPolicy } from '../../src/policy/index.js';
import { promote, VSA_PREDICATE_TYPE, type PromoteOptions } from '../../src/promote/index.js';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { verifyImage } from '../../src/verify/index.js';
import { startRegistry } from '../support/registry.js';
import {
  attachProvenance,
  attachTamperedProvenance,
  attachVulns,
  makeKeys,
  policyDoc,
  pushImage,
  readDecisions,
  signImage,
  tempDir,
  UNTRUSTED_BUILDER,
  writePolicy,
  type Keys,
} from './promote-fixture.js';

type Reg = Awaited<ReturnType<typeof startRegistry>>;
let r1: Reg;
let r2: Reg;
let dir: string;
let keys: Keys;
let trustedRoot: TrustedRootJSON;
let policyPath: string;
let log: string;

beforeAll(async () => {
  [r1, r2] = await Promise.all([startRegistry(), startRegistry()]);
  dir = tempDir();
  keys = await makeKeys(dir);
  trustedRoot = await loadTrustedRoot({ offline: true });
  policyPath = writePolicy(dir, policyDoc(keys, [`${r1.host}/staging/*`], [`${r2.host}/prod/**`]));
  log = path.join(dir, 'decisions.jsonl');
});

afterAll(async () => {
  await Promise.all([r1?.stop(), r2?.stop()]);
});

async function run(
  source: string,
  destination: string,
  extra: Partial<PromoteOptions> = {},
  policyFile = policyPath,
) {
  return promote({
    source,
    destination,
    policy: await loadPolicy(policyFile),
    trust: { trustedRoot },
    signer: keys.spec,
    registry: { plainHttp: true },
    decisionLog: log,
    ...extra,
  });
}

async function store(ref: string): Promise<Store> {
  return openStore(parseReference(ref), { plainHttp: true });
}

async function tagOf(ref: string, tag: string): Promise<string | null> {
  try {
    return (await (await store(ref)).resolve(tag)).digest;
  } catch {
    return null;
  }
}

/** A fully attested image in staging: signature, provenance from the trusted builder, a clean scan. */
async function goodImage(repo: string) {
  const img = await pushImage(`${r1.host}/staging/${repo}:v1`);
  await signImage(img.store, img.desc, keys);
  await attachProvenance(img.store, img.desc, keys);
  await attachVulns(img.store, img.desc, keys, ['HIGH', 'LOW']);
  return img;
}

describe('promote between two registries', () => {
  it('promotes a signed, L3, scanned image: same digest, all referrers plus a VSA, tag written last', async () => {
    const img = await goodImage('app');
    const dst = `${r2.host}/prod/app:1.0`;
    const r = await run(img.name, dst);
    expect(r.decision, r.reason).toBe('ALLOW');
    expect(r.slsaLevel).toBe(3);
    expect(r.steps.map((s) => `${s.step}:${s.name}:${s.status}`)).toEqual([
      '1:resolve:ok',
      '2:verify:ok',
      '3:copy:ok',
      '4:reverify:ok',
      '5:vsa:ok',
      '6:tag:ok',
    ]);
    expect(r.destination.previousTagDigest).toBeNull();
    expect(await tagOf(dst, '1.0')).toBe(img.desc.digest);

    // skopeo, an independent client, sees the tag and the same bytes.
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${dst}`]);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(img.desc.digest);

    const dstStore = await store(dst);
    const refs = await listReferrers(dstStore, img.desc);
    const types = refs.map((d) => d.annotations?.['dev.sigstore.bundle.predicateType']).sort();
    expect(types).toEqual([
      'https://in-toto.io/attestation/vulns/v0.2',
      'https://sigstore.dev/cosign/sign/v1',
      'https://slsa.dev/provenance/v1',
      VSA_PREDICATE_TYPE,
    ]);
    expect(refs.find((d) => d.digest === r.vsa?.referrer)).toBeDefined();

    // The VSA names the destination by digest, the policy by digest and every bundle it rests on.
    const found = await discoverBundles(dstStore, img.desc);
    const vsaBundle = found.find((b) => b.referrer.digest === r.vsa?.referrer);
    const stmt = decodeDssePayload(
      (vsaBundle?.bundle as { dsseEnvelope: never }).dsseEnvelope,
    ) as unknown as {
      subject: { digest: { sha256: string } }[];
      predicate: Record<string, unknown>;
    };
    expect(stmt.subject[0]?.digest.sha256).toBe(img.desc.digest.slice(7));
    expect(stmt.predicate.resourceUri).toBe(`${r2.host}/prod/app@${img.desc.digest}`);
    expect(stmt.predicate.verificationResult).toBe('PASSED');
    expect(stmt.predicate.verifiedLevels).toEqual(['SLSA_BUILD_LEVEL_3']);
    const policy = await loadPolicy(policyPath);
    expect(stmt.predicate.policy).toEqual({ uri: policy.uri, digest: { sha256: policy.sha256 } });
    const inputs = (stmt.predicate.inputAttestations as { digest: { sha256: string } }[]).map(
      (a) => `sha256:${a.digest.sha256}`,
    );
    const bundleDigests = found
      .filter((b) => b.referrer.digest !== r.vsa?.referrer)
      .map((b) => sha256(b.bytes as Buffer));
    expect(inputs.length).toBeGreaterThanOrEqual(2);
    for (const d of inputs) expect(bundleDigests).toContain(d);

    // The promoted image verifies at the destination.
    const v = await verifyImage(dstStore, img.desc, policy, { trustedRoot });
    expect(v.ok, v.reason).toBe(true);

    const rec = readDecisions(log).at(-1)!;
    expect(rec).toMatchObject({ action: 'promote', result: 'ALLOW', subject: img.desc.digest });
    expect(decisionSchemaProblems(rec)).toEqual([]);
  });

  it('re-running a completed promotion succeeds and keeps the digest', async () => {
    const img = await goodImage('again');
    const dst = `${r2.host}/prod/again:1`;
    expect((await run(img.name, dst)).decision).toBe('ALLOW');
    const second = await run(img.name, dst);
    expect(second.decision).toBe('ALLOW');
    expect(second.destination.previousTagDigest).toBe(img.desc.digest);
    expect(second.copy?.blobs.copied).toBe(0);
    expect(await tagOf(dst, '1')).toBe(img.desc.digest);
  });

  it('--dry-run verifies and plans but writes nothing', async () => {
    const img = await goodImage('dry');
    const dst = `${r2.host}/prod/dry:1`;
    const before = readDecisions(log).length;
    const r = await run(img.name, dst, { dryRun: true, signer: undefined });
    expect(r.decision).toBe('ALLOW');
    expect(r.dryRun).toBe(true);
    // Index + 2 platform manifests; 3 referrers; 2×(config+layer) + 3×(empty config + bundle layer, deduped).
    expect(r.plan).toMatchObject({ manifests: 3, referrers: 3 });
    expect(r.plan!.blobs).toBeGreaterThanOrEqual(5);
    expect(r.plan!.destination?.missing.manifests).toBe(3);
    expect(r.steps.filter((s) => s.status === 'skipped').map((s) => s.name)).toEqual([
      'copy',
      'reverify',
      'vsa',
      'tag',
    ]);
    expect(await (await store(dst)).hasManifest(img.desc.digest)).toBe(false);
    expect(readDecisions(log).length).toBe(before);
  });
});

describe('promote refuses, with the reason, and leaves the destination untouched', () => {
  const cases: {
    name: string;
    repo: string;
    setup: (img: Awaited<ReturnType<typeof pushImage>>) => Promise<void>;
    reason: RegExp;
    dst?: string;
    src?: string;
  }[] = [
    {
      name: 'untrusted builder (level 1 < 3)',
      repo: 'untrusted',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachProvenance(img.store, img.desc, keys, { builderId: UNTRUSTED_BUILDER });
        await attachVulns(img.store, img.desc, keys, []);
      },
      reason: /level 1 < required 3: builder .*laptop.* is not trusted/,
    },
    {
      name: 'wrong source branch',
      repo: 'branch',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachProvenance(img.store, img.desc, keys, { branch: 'feature/x' });
        await attachVulns(img.store, img.desc, keys, []);
      },
      reason: /branch feature\/x != expected main/,
    },
    {
      name: 'critical vulnerability over the threshold',
      repo: 'vulnerable',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachProvenance(img.store, img.desc, keys);
        await attachVulns(img.store, img.desc, keys, ['CRITICAL', 'LOW']);
      },
      reason: /1 critical finding\(s\) above high/,
    },
    {
      name: 'missing provenance',
      repo: 'noprov',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachVulns(img.store, img.desc, keys, []);
      },
      reason: /no verified provenance/,
    },
    {
      name: 'provenance whose subject is another digest',
      repo: 'othersubject',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachProvenance(img.store, img.desc, keys, {
          subjectDigest: `sha256:${randomBytes(32).toString('hex')}`,
        });
        await attachVulns(img.store, img.desc, keys, []);
      },
      reason: /no verified provenance.*provenance\/v1 attestation .*not in statement subjects/,
    },
    {
      name: 'tampered bundle',
      repo: 'tampered',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachTamperedProvenance(img.store, img.desc, keys);
        await attachVulns(img.store, img.desc, keys, []);
      },
      reason: /no verified provenance.*rejected.*signature does not verify/,
    },
    {
      name: 'source registry not allowlisted',
      repo: 'notallowed',
      src: 'other',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachProvenance(img.store, img.desc, keys);
        await attachVulns(img.store, img.desc, keys, []);
      },
      reason: /not in promotion\.sources/,
    },
    {
      name: 'destination not allowlisted',
      repo: 'evil-dst',
      dst: 'elsewhere',
      setup: async (img) => {
        await signImage(img.store, img.desc, keys);
        await attachProvenance(img.store, img.desc, keys);
        await attachVulns(img.store, img.desc, keys, []);
      },
      reason: /not in promotion\.destinations/,
    },
  ];

  it.each(cases)('$name', async (c) => {
    const img = await pushImage(`${r1.host}/${c.src ?? 'staging'}/${c.repo}:v1`);
    await c.setup(img);
    const dst = `${r2.host}/${c.dst ?? 'prod'}/${c.repo}:v1`;
    const r = await run(img.name, dst);
    expect(r.decision).toBe('DENY');
    expect(r.reason).toMatch(c.reason);
    expect(r.failedStep?.step).toBeLessThanOrEqual(2);
    expect(r.steps.filter((s) => s.status === 'skipped').map((s) => s.name)).toContain('copy');
    const dstStore = await store(dst);
    expect(await dstStore.hasManifest(img.desc.digest)).toBe(false);
    expect(await tagOf(dst, 'v1')).toBeNull();
    const rec = readDecisions(log).at(-1)!;
    expect(rec).toMatchObject({
      action: 'promote',
      result: 'DENY',
      subject: img.desc.digest,
      reason: r.reason,
    });
    expect(decisionSchemaProblems(rec)).toEqual([]);
  });

  it('a policy without a promotion section refuses (fail closed)', async () => {
    const img = await goodImage('nopromo');
    const doc = policyDoc(keys, ['x/y'], ['x/y']);
    delete doc.promotion;
    const p = writePolicy(dir, doc, 'no-promotion.json');
    const r = await run(img.name, `${r2.host}/prod/nopromo:v1`, {}, p);
    expect(r.decision).toBe('DENY');
    expect(r.reason).toMatch(/no promotion section/);
    expect(await tagOf(`${r2.host}/prod/nopromo`, 'v1')).toBeNull();
  });

  it('require.allPlatforms: an index whose platform images carry no attestations of their own is refused', async () => {
    const img = await goodImage('platforms');
    const doc = policyDoc(keys, [`${r1.host}/staging/*`], [`${r2.host}/prod/**`], {
      require: { allPlatforms: true },
    });
    const p = writePolicy(dir, doc, 'all-platforms.json');
    const refused = await run(img.name, `${r2.host}/prod/platforms:v1`, {}, p);
    expect(refused.decision).toBe('DENY');
    expect(refused.reason).toMatch(/^sha256:[0-9a-f]{64}: /);
    expect(refused.checks.filter((c) => c.field === 'require.allPlatforms' && !c.ok)).toHaveLength(2);
    expect(await tagOf(`${r2.host}/prod/platforms`, 'v1')).toBeNull();

    // Attest each platform image too: now the whole index promotes.
    const index = JSON.parse((await img.store.fetchManifest(img.desc)).bytes.toString()) as {
      manifests: { digest: string; mediaType: string; size: number }[];
    };
    for (const child of index.manifests) {
      await signImage(img.store, child, keys);
      await attachProvenance(img.store, child, keys);
      await attachVulns(img.store, child, keys, []);
    }
    const allowed = await run(img.name, `${r2.host}/prod/platforms:v1`, {}, p);
    expect(allowed.decision, allowed.reason).toBe('ALLOW');
    expect(allowed.checks.filter((c) => c.field === 'require.allPlatforms' && c.ok)).toHaveLength(2);
    // Every child's referrers travelled too.
    const dstStore = await store(`${r2.host}/prod/platforms`);
    for (const child of index.manifests) expect(await listReferrers(dstStore, child.digest)).toHaveLength(3);
  });

  it('a destination digest different from the source is bad input (exit 2)', async () => {
    const img = await goodImage('pinned');
    await expect(run(img.name, `${r2.host}/prod/pinned@sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
