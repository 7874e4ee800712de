/**
 * `vouch promote` as a user runs it: the built CLI as a subprocess against two real registries.
 * Output contract: each step on stderr, the summary (checks, level, destination digest, VSA
 * digest) on stdout, --json the same as data, exit 0/1/2/3, no stack traces.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasStackTrace, runVouch } from '../support/cli.js';
import { startFaultProxy } from '../support/fault-proxy.js';
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
  UNTRUSTED_BUILDER,
  writePolicy,
  type Keys,
} from '../integration/promote-fixture.js';

type Reg = Awaited<ReturnType<typeof startRegistry>>;
let r1: Reg;
let r2: Reg;
let dir: string;
let keys: Keys;
let policy: string;
let log: string;

beforeAll(async () => {
  [r1, r2] = await Promise.all([startRegistry(), startRegistry()]);
  dir = tempDir();
  keys = await makeKeys(dir);
  policy = writePolicy(dir, policyDoc(keys, [`${r1.host}/staging/*`], [`${r2.host}/prod/*`]));
  log = path.join(dir, 'decisions.jsonl');
});
afterAll(async () => {
  await Promise.all([r1?.stop(), r2?.stop()]);
});

async function image(repo: string, builderId?: string) {
  const img = await pushImage(`${r1.host}/staging/${repo}:v1`);
  await signImage(img.store, img.desc, keys);
  await attachProvenance(img.store, img.desc, keys, builderId ? { builderId } : {});
  await attachVulns(img.store, img.desc, keys, ['MEDIUM']);
  return img;
}

const env = { VOUCH_OFFLINE: '1' };

describe('vouch promote (CLI)', () => {
  it('promotes, prints each step, the level, the destination digest and the VSA; the result verifies', async () => {
    const img = await image('app');
    const dst = `${r2.host}/prod/app:1.0`;
    const r = await runVouch(
      [
        'promote',
        img.name,
        dst,
        '--policy',
        policy,
        '--key',
        keys.key,
        '--plain-http',
        '--decision-log',
        log,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/step 1\/6 .*ok/);
    expect(r.stderr).toMatch(/step 6\/6 write destination tag: ok/);
    expect(r.stdout).toContain('SLSA Build level: 3');
    expect(r.stdout).toContain(`destination: ${r2.host}/prod/app:1.0@${img.desc.digest}`);
    expect(r.stdout).toMatch(/VSA: +sha256:[0-9a-f]{64}/);
    expect(r.stdout).toMatch(/decision: +ALLOW/);
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
    expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY');

    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${dst}`]);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(img.desc.digest);

    const v = await runVouch(['verify', 'image', dst, '--policy', policy, '--plain-http'], { env });
    expect(v.code, v.stderr + v.stdout).toBe(0);
    expect(readDecisions(log).at(-1)).toMatchObject({ result: 'ALLOW', action: 'promote' });
  });

  it('refuses an image from an untrusted builder: exit 1, "refused" with the reason, no tag', async () => {
    const img = await image('untrusted', UNTRUSTED_BUILDER);
    const r = await runVouch(
      [
        'promote',
        img.name,
        `${r2.host}/prod/untrusted:1.0`,
        '--policy',
        policy,
        '--key',
        keys.key,
        '--plain-http',
        '--decision-log',
        log,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/refused: .+/);
    expect(r.stdout).toMatch(/decision: +DENY/);
    expect(r.stdout).toMatch(/✗/);
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
    const head = await fetch(`http://${r2.host}/v2/prod/untrusted/manifests/1.0`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.oci.image.index.v1+json' },
    });
    expect(head.status).toBe(404);
    const rec = readDecisions(log).at(-1)!;
    expect(rec).toMatchObject({ result: 'DENY', subject: img.desc.digest });
    expect(String(rec.reason)).not.toBe('');
  });

  it('--dry-run --json prints the plan and the decision and writes nothing', async () => {
    const img = await image('dry');
    const before = readDecisions(log).length;
    const r = await runVouch(
      [
        'promote',
        img.name,
        `${r2.host}/prod/dry:1.0`,
        '--policy',
        policy,
        '--plain-http',
        '--dry-run',
        '--json',
        '--decision-log',
        log,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      decision: 'ALLOW',
      dryRun: true,
      slsaLevel: 3,
      plan: { manifests: 3, referrers: 3 },
    });
    expect(out.plan.bytes).toBeGreaterThan(8192);
    expect(out.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    const head = await fetch(`http://${r2.host}/v2/prod/dry/manifests/${img.desc.digest}`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.oci.image.index.v1+json' },
    });
    expect(head.status).toBe(404);
    expect(readDecisions(log).length).toBe(before);
  });

  it('--json on a refusal gives the same data (decision DENY) and exit 1', async () => {
    const img = await image('jsondeny', UNTRUSTED_BUILDER);
    const r = await runVouch(
      [
        'promote',
        img.name,
        `${r2.host}/prod/jsondeny:1`,
        '--policy',
        policy,
        '--key',
        keys.key,
        '--plain-http',
        '--json',
      ],
      { env },
    );
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.decision).toBe('DENY');
    expect(out.failedStep).toEqual({ step: 2, name: 'verify' });
  });

  it.each([
    [['promote', 'oci:/nonexistent/x:v1', 'oci:/tmp/y:v1'], /policy/i],
    [['promote', 'NOT A REF', 'oci:/tmp/y:v1', '--policy', 'POLICY'], /invalid reference/],
    [['promote', 'oci:/tmp/x', 'oci:/tmp/y:v1', '--policy', 'POLICY', '--key', 'KEY'], /no tag or digest/],
    [['promote', 'oci:/tmp/x:v1', 'oci:/tmp/y:v1', '--policy', 'POLICY'], /no signing identity|signer/i],
  ])('bad input %j → exit 2, one line, no stack trace', async (args, msg) => {
    const a = args.map((x) => (x === 'POLICY' ? policy : x === 'KEY' ? keys.key : x));
    const r = await runVouch(a, {
      env: { ...env, SIGSTORE_ID_TOKEN: undefined, ACTIONS_ID_TOKEN_REQUEST_URL: undefined },
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('a registry fault during the copy: exit 3, "failed at step 3 (copy)", tag unchanged; the re-run completes', async () => {
    const img = await image('faulty');
    const proxy = await startFaultProxy(r2.host);
    try {
      const p = writePolicy(
        dir,
        policyDoc(keys, [`${r1.host}/staging/*`], [`${proxy.host}/prod/*`]),
        'proxy.json',
      );
      const args = [
        'promote',
        img.name,
        `${proxy.host}/prod/faulty:1.0`,
        '--policy',
        p,
        '--key',
        keys.key,
        '--plain-http',
      ];
      proxy.addRule({
        method: 'PUT',
        path: /\/blobs\/uploads\//,
        times: Infinity,
        fault: { kind: 'status', status: 500 },
      });
      const r = await runVouch(args, { env });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/^vouch: promotion failed at step 3 \(copy\): /m);
      expect(r.stderr).toMatch(
        /^hint: the destination tag 1\.0 was not changed; run the same command again/m,
      );
      expect(hasStackTrace(r.stderr)).toBe(false);
      const head = await fetch(`http://${r2.host}/v2/prod/faulty/manifests/1.0`, {
        method: 'HEAD',
        headers: { Accept: 'application/vnd.oci.image.index.v1+json' },
      });
      expect(head.status).toBe(404);
      proxy.clearRules();
      const again = await runVouch(args, { env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(`@${img.desc.digest}`);
    } finally {
      await proxy.stop();
    }
  });

  it('an unreachable destination fails with exit 3 and names the step', async () => {
    const img = await image('unreach');
    const p = writePolicy(
      dir,
      policyDoc(keys, [`${r1.host}/staging/*`], ['127.0.0.1:1/prod/*']),
      'unreach.json',
    );
    const r = await runVouch(
      ['promote', img.name, '127.0.0.1:1/prod/unreach:1', '--policy', p, '--key', keys.key, '--plain-http'],
      { env },
    );
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/promotion failed at step \d/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});
