/**
 * No partial promotions: a fault-injecting proxy in front of the destination registry makes
 * blob uploads, manifest PUTs, referrer (fallback index) writes, the VSA attach and the tag
 * write fail persistently. Each time the promotion names the failed step, the destination tag
 * stays exactly as it was, a DENY record is logged, and once the faults stop, the same
 * promotion completes.
 */
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copy, openStore, parseReference, type RegistryOptions } from '../../src/oci/index.js';
import { loadPolicy } from '../../src/policy/index.js';
import { promote, type PromotionResult } from '../../src/promote/index.js';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry } from '../support/registry.js';
import {
  attachProvenance,
  attachVulns,
  makeKeys,
  policyDoc,
  pushImage,
  readDecisions,
  signImage,
  tempDir,
  writePolicy,
  type Keys,
} from './promote-fixture.js';

type Reg = Awaited<ReturnType<typeof startRegistry>>;
let src: Reg;
let dst: Reg;
let proxy: FaultProxy;
let dir: string;
let keys: Keys;
let trustedRoot: TrustedRootJSON;
let policyPath: string;
let log: string;
// Few, fast retries: the faults are persistent, so retrying longer only slows the test down.
const registry: RegistryOptions = { plainHttp: true, maxAttempts: 2, backoffMs: 5 };

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startFaultProxy(dst.host);
  dir = tempDir();
  keys = await makeKeys(dir);
  trustedRoot = await loadTrustedRoot({ offline: true });
  policyPath = writePolicy(dir, policyDoc(keys, [`${src.host}/staging/*`], [`${proxy.host}/prod/*`]));
  log = path.join(dir, 'decisions.jsonl');
});
afterAll(async () => {
  await proxy?.stop();
  await Promise.all([src?.stop(), dst?.stop()]);
});
beforeEach(() => proxy.clearRules());

async function image(repo: string, tag = 'v1') {
  const img = await pushImage(`${src.host}/staging/${repo}:${tag}`);
  await signImage(img.store, img.desc, keys);
  await attachProvenance(img.store, img.desc, keys);
  await attachVulns(img.store, img.desc, keys, []);
  return img;
}

async function run(source: string, destination: string): Promise<PromotionResult> {
  return promote({
    source,
    destination,
    policy: await loadPolicy(policyPath),
    trust: { trustedRoot },
    signer: keys.spec,
    registry,
    decisionLog: log,
  });
}

/** What the destination tag points to, read from the registry itself (not through the proxy). */
async function tagAtDst(repo: string, tag: string): Promise<string | null> {
  const s = await openStore(parseReference(`${dst.host}/prod/${repo}`), { plainHttp: true });
  try {
    return (await s.resolve(tag)).digest;
  } catch {
    return null;
  }
}

const PUT_BLOB = { path: /\/blobs\/uploads\//, method: 'PUT' };
const PATCH_BLOB = { path: /\/blobs\/uploads\//, method: 'PATCH' };
const PUT_MANIFEST_BY_DIGEST = { path: /\/manifests\/sha256:[0-9a-f]{64}$/, method: 'PUT' };
const PUT_REFERRERS_INDEX = { path: /\/manifests\/sha256-[0-9a-f]{64}$/, method: 'PUT' };

const status500: Fault = { kind: 'status', status: 500 };
const reset: Fault = { kind: 'reset' };

async function expectFailedThenCompleted(
  repo: string,
  match: { path: RegExp; method: string },
  fault: Fault,
  step: string,
  opts: { previous?: boolean; precopy?: boolean } = {},
) {
  let previous: string | null = null;
  if (opts.previous) {
    // The destination tag already points at an older release: it must keep pointing there.
    const old = await image(repo, 'v0');
    expect((await run(old.name, `${proxy.host}/prod/${repo}:live`)).decision).toBe('ALLOW');
    previous = old.desc.digest;
  }
  const img = await image(repo);
  if (opts.precopy) {
    // Content (and referrers) already at the destination: the only write left before the tag is the VSA.
    const s = await openStore(parseReference(`${src.host}/staging/${repo}`), { plainHttp: true });
    const d = await openStore(parseReference(`${dst.host}/prod/${repo}`), { plainHttp: true });
    await copy(s, img.desc.digest, d, {});
  }
  const dstRef = `${proxy.host}/prod/${repo}:live`;
  expect(await tagAtDst(repo, 'live')).toBe(previous);

  proxy.addRule({ ...match, times: Infinity, fault });
  const before = proxy.count(match.method, match.path);
  const err = await run(img.name, dstRef).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(proxy.count(match.method, match.path)).toBeGreaterThan(before);
  expect(err).toMatchObject({ exitCode: 3 });
  expect((err as Error).message).toMatch(new RegExp(`^promotion failed at step ${step}`));
  expect((err as { hint?: string }).hint).toMatch(/tag live was not changed.*run the same command again/);
  expect(await tagAtDst(repo, 'live')).toBe(previous);
  const rec = readDecisions(log).at(-1)!;
  expect(rec).toMatchObject({ result: 'DENY', subject: img.desc.digest });
  expect(String(rec.reason)).toMatch(new RegExp(`step ${step}`));

  proxy.clearRules();
  const again = await run(img.name, dstRef);
  expect(again.decision, again.reason).toBe('ALLOW');
  expect(await tagAtDst(repo, 'live')).toBe(img.desc.digest);
  expect(readDecisions(log).at(-1)).toMatchObject({ result: 'ALLOW', subject: img.desc.digest });
}

describe('promotion faults leave the destination tag as it was; a second run completes', () => {
  it('500 on every blob upload PUT (step 3, copy)', async () => {
    await expectFailedThenCompleted('blob500', PUT_BLOB, status500, '3 \\(copy\\)');
  });

  it('connection reset during blob upload PATCH, over an existing tag (step 3, copy)', async () => {
    await expectFailedThenCompleted('blobreset', PATCH_BLOB, reset, '3 \\(copy\\)', { previous: true });
  });

  it('500 on every manifest PUT by digest (step 3, copy)', async () => {
    await expectFailedThenCompleted('manifest500', PUT_MANIFEST_BY_DIGEST, status500, '3 \\(copy\\)', {
      previous: true,
    });
  });

  it('connection reset on every referrers-index write (step 3, copy of referrers)', async () => {
    await expectFailedThenCompleted('refreset', PUT_REFERRERS_INDEX, reset, '3 \\(copy\\)');
  });

  it('500 on the referrer write of the VSA (step 5)', async () => {
    await expectFailedThenCompleted('vsa500', PUT_REFERRERS_INDEX, status500, '5 \\(vsa\\)', {
      precopy: true,
      previous: true,
    });
  });

  it('500 on the tag write itself (step 6)', async () => {
    await expectFailedThenCompleted(
      'tag500',
      { path: /\/manifests\/live$/, method: 'PUT' },
      status500,
      '6 \\(tag\\)',
      {
        previous: true,
      },
    );
  });
});
