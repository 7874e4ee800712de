/**
 * The three verify commands as users run them: the built CLI as a subprocess (npm run build
 * first), real files, a real registry. Exit codes 0/1/2/3, human output on stdout/stderr,
 * --json Verdicts, decision logs, never a stack trace.
 */
import { mkdtemp, readFile, writeFile, copyFile } from 'node:fs/promises';
import { randomBytes, createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachBundle } from '../../src/bundles/index.js';
import { openLayout, openStore, parseReference } from '../../src/oci/index.js';
import { decisionSchemaProblems } from '../../src/policy/index.js';
import { generateKeyPair, signStatement } from '../../src/signing/index.js';
import { hasStackTrace, runVouch, type RunResult } from '../support/cli.js';
import { pushPlatformImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const BUILDER = 'https://builder.example.test/hosted@v1';
const PROV = 'https://slsa.dev/provenance/v1';
const env = { VOUCH_OFFLINE: '1' };
let dir: string;
let reg: TestRegistry;
const f = (n: string) => path.join(dir, n);

async function vouch(args: string[]): Promise<RunResult> {
  const r = await runVouch(args, { env, cwd: dir });
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  expect(hasStackTrace(r.stdout)).toBe(false);
  return r;
}

async function key(name: string): Promise<void> {
  const kp = await generateKeyPair({ type: 'p256' });
  await writeFile(f(`${name}.key`), kp.privateKeyPem, { mode: 0o600 });
  await writeFile(f(`${name}.pub`), kp.publicKeyPem);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function provenance(hex: string, builder = BUILDER) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'x', digest: { sha256: hex } }],
    predicateType: PROV,
    predicate: {
      buildDefinition: {
        buildType: 't',
        externalParameters: {},
        resolvedDependencies: [
          { uri: 'git+https://github.com/acme/app@refs/heads/main', digest: { gitCommit: 'c0ffee' } },
        ],
      },
      runDetails: { builder: { id: builder } },
    },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-e2e-verify-'));
  await key('a');
  await key('b');
  const data = randomBytes(200_000);
  await writeFile(f('fn.zip'), data);
  await writeFile(f('other.zip'), Buffer.concat([data, Buffer.from('x')]));
  await writeFile(f('two.zip'), randomBytes(5000));
  for (const n of ['fn.zip', 'two.zip']) {
    const r = await runVouch(['sign', 'function', f(n), '--key', f('a.key')], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  }
  const prov = await signStatement(provenance(sha(data)), { kind: 'key', keyPath: f('a.key') });
  await writeFile(f('prov.json'), prov.bundleBytes);
  reg = await startRegistry({ name: 'e2e-verify' });
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

describe('vouch verify function', () => {
  it('verifies a signed package with the right key (human and --json)', async () => {
    const r = await vouch(['verify', 'function', f('fn.zip'), '--key', f('a.pub')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ .*fn\.zip\s+VERIFIED/);
    expect(r.stdout).toMatch(/SLSA build level: 0/);
    expect(r.stderr).toMatch(/verified .*fn\.zip/);
    const j = await vouch(['verify', 'function', f('fn.zip'), '--key', f('a.pub'), '--json']);
    const v = JSON.parse(j.stdout) as {
      ok: boolean;
      digest: string;
      bundles: { kind: string; signer: string }[];
    };
    expect(v.ok).toBe(true);
    expect(v.digest).toBe(`sha256:${sha(await readFile(f('fn.zip')))}`);
    expect(v.bundles[0]).toMatchObject({ kind: 'message-signature' });
    expect(j.stderr).toBe('');
  });

  it('refuses to verify without a stated trust (exit 2)', async () => {
    const r = await vouch(['verify', 'function', f('fn.zip')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no trusted signer stated/);
  });

  it('rejects a changed artifact and a wrong key (exit 1)', async () => {
    await copyFile(f('fn.zip.sigstore.json'), f('other.zip.sigstore.json'));
    const changed = await vouch(['verify', 'function', f('other.zip'), '--key', f('a.pub')]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/REJECTED/);
    expect(changed.stdout).toMatch(/message digest/);
    const wrongKey = await vouch(['verify', 'function', f('fn.zip'), '--key', f('b.pub')]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toMatch(/does not verify with any trusted key/);
  });

  it('an unsigned file is rejected (1); an explicit missing --bundle is bad input (2)', async () => {
    await writeFile(f('unsigned.zip'), 'x');
    expect((await vouch(['verify', 'function', f('unsigned.zip'), '--key', f('a.pub')])).code).toBe(1);
    const r = await vouch([
      'verify',
      'function',
      f('fn.zip'),
      '--bundle',
      f('nope.json'),
      '--key',
      f('a.pub'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such bundle file/);
  });

  it('verifies several files in one call, and logs one decision per file', async () => {
    const log = f('decisions.jsonl');
    const ok = await vouch([
      'verify',
      'function',
      f('fn.zip'),
      f('two.zip'),
      '--key',
      f('a.pub'),
      '--json',
      '--decision-log',
      log,
    ]);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as unknown[]).length).toBe(2);
    const mixed = await vouch([
      'verify',
      'function',
      f('fn.zip'),
      f('other.zip'),
      '--key',
      f('a.pub'),
      '--decision-log',
      log,
    ]);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/verified 1 of 2/);
    const lines = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.result)).toEqual(['ALLOW', 'ALLOW', 'ALLOW', 'DENY']);
    for (const l of lines) expect(decisionSchemaProblems(l)).toEqual([]);
    expect(lines[3]).toMatchObject({ action: 'verify', policy: { uri: 'inline:flags' } });
  });
});

describe('vouch verify bundle', () => {
  it('provenance verifies for its subject, by file and by digest, and not for another subject', async () => {
    const hex = sha(await readFile(f('fn.zip')));
    expect((await vouch(['verify', 'bundle', f('prov.json'), f('fn.zip'), '--key', f('a.pub')])).code).toBe(
      0,
    );
    expect(
      (await vouch(['verify', 'bundle', f('prov.json'), `sha256:${hex}`, '--key', f('a.pub')])).code,
    ).toBe(0);
    const other = await vouch(['verify', 'bundle', f('prov.json'), f('other.zip'), '--key', f('a.pub')]);
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/subject/);
  });

  it('expectation flags form the policy: builder trusted to L3, source mismatch named', async () => {
    const l3 = await vouch([
      'verify',
      'bundle',
      f('prov.json'),
      f('fn.zip'),
      '--key',
      f('a.pub'),
      '--builder-id',
      'https://builder.example.test/hosted',
      '--min-slsa-level',
      '3',
      '--json',
    ]);
    expect(l3.code, l3.stdout).toBe(0);
    expect(JSON.parse(l3.stdout)).toMatchObject({ ok: true, slsaLevel: 3 });
    const noBuilder = await vouch([
      'verify',
      'bundle',
      f('prov.json'),
      f('fn.zip'),
      '--key',
      f('a.pub'),
      '--min-slsa-level',
      '2',
    ]);
    expect(noBuilder.code).toBe(1);
    expect(noBuilder.stdout).toMatch(/level 1 < required 2/);
    const src = await vouch([
      'verify',
      'bundle',
      f('prov.json'),
      f('fn.zip'),
      '--key',
      f('a.pub'),
      '--source-uri',
      'github.com/acme/other',
    ]);
    expect(src.code).toBe(1);
    expect(src.stdout).toMatch(/\[source\.uri\]/);
    const tag = await vouch([
      'verify',
      'bundle',
      f('prov.json'),
      f('fn.zip'),
      '--key',
      f('a.pub'),
      '--source-tag',
      'v1',
    ]);
    expect(tag.code).toBe(1);
    expect(tag.stdout).toMatch(/\[source\.tag\]/);
    expect(
      (
        await vouch([
          'verify',
          'bundle',
          f('prov.json'),
          f('fn.zip'),
          '--key',
          f('a.pub'),
          '--source-branch',
          'main',
          '--source-tag',
          'v1',
        ])
      ).code,
    ).toBe(2);
    const pt = await vouch([
      'verify',
      'bundle',
      f('fn.zip.sigstore.json'),
      f('fn.zip'),
      '--key',
      f('a.pub'),
      '--predicate-type',
      PROV,
    ]);
    expect(pt.code).toBe(1);
    expect(pt.stdout).toMatch(/no verified attestation of type https:\/\/slsa.dev\/provenance\/v1/);
  });

  it('a swapped message digest and a malformed bundle are rejected with one line, no stack trace', async () => {
    const b = JSON.parse(await readFile(f('fn.zip.sigstore.json'), 'utf8')) as {
      messageSignature: { messageDigest: { digest: string } };
    };
    b.messageSignature.messageDigest.digest = Buffer.from(
      sha(await readFile(f('other.zip'))),
      'hex',
    ).toString('base64');
    await writeFile(f('swapped.json'), JSON.stringify(b));
    expect(
      (await vouch(['verify', 'bundle', f('swapped.json'), f('fn.zip'), '--key', f('a.pub')])).code,
    ).toBe(1);
    await writeFile(f('broken.json'), '{"mediaType":');
    const r = await vouch(['verify', 'bundle', f('broken.json'), f('fn.zip'), '--key', f('a.pub')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not valid JSON/);
  });
});

describe('vouch verify image', () => {
  it('resolves the tag once, verifies by digest against a policy, several images concurrently', async () => {
    const store = await openStore(parseReference(`${reg.host}/e2e/app`), { plainHttp: true });
    const one = await pushPlatformImage(store, 'amd64', 1024, 'v1');
    const two = await pushPlatformImage(store, 'arm64', 1024, 'v2');
    for (const m of [one.manifest, two.manifest]) {
      const r = await signStatement(provenance(m.digest.slice(7)), { kind: 'key', keyPath: f('a.key') });
      await attachBundle(store, m, r.bundle, { bytes: r.bundleBytes });
    }
    await writeFile(
      f('p3.yaml'),
      `version: 1\nsigners:\n  - key: {path: a.pub}\nbuilders:\n  - {id: "${BUILDER}", maxLevel: 3}\nminSlsaLevel: 3\n`,
    );
    await writeFile(
      f('p1.yaml'),
      `version: 1\nsigners:\n  - key: {path: a.pub}\nbuilders:\n  - {id: "${BUILDER}", maxLevel: 1}\nminSlsaLevel: 1\n`,
    );
    const r = await vouch([
      'verify',
      'image',
      `${reg.host}/e2e/app:v1`,
      '--policy',
      f('p3.yaml'),
      '--plain-http',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`resolved ${reg.host}/e2e/app:v1 to ${one.manifest.digest}`);
    expect(r.stdout).toMatch(/SLSA build level: 3/);
    const both = await vouch([
      'verify',
      'image',
      `${reg.host}/e2e/app:v1`,
      `${reg.host}/e2e/app@${two.manifest.digest}`,
      '--policy',
      f('p3.yaml'),
      '--plain-http',
      '--json',
    ]);
    expect(both.code).toBe(0);
    const vs = JSON.parse(both.stdout) as { ok: boolean; digest: string }[];
    expect(vs.map((v) => v.digest)).toEqual([one.manifest.digest, two.manifest.digest]);
    const l1 = await vouch([
      'verify',
      'image',
      `${reg.host}/e2e/app:v1`,
      '--policy',
      f('p1.yaml'),
      '--min-slsa-level',
      '2',
      '--plain-http',
    ]);
    expect(l1.code).toBe(1);
    expect(l1.stdout).toMatch(/level 1 < required 2/);
  });

  it('verifies an OCI layout image and logs a schema-valid decision', async () => {
    const layout = openLayout(f('layout'));
    const { manifest } = await pushPlatformImage(layout, 'amd64', 512, 'v1');
    const r0 = await signStatement(provenance(manifest.digest.slice(7)), {
      kind: 'key',
      keyPath: f('a.key'),
    });
    await attachBundle(layout, manifest, r0.bundle, { bytes: r0.bundleBytes });
    const log = f('image-decisions.jsonl');
    const r = await vouch([
      'verify',
      'image',
      `oci:${f('layout')}:v1`,
      '--key',
      f('a.pub'),
      '--predicate-type',
      PROV,
      '--decision-log',
      log,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, digest: manifest.digest, predicateTypes: [PROV] });
    const [line] = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(decisionSchemaProblems(line)).toEqual([]);
    expect(line).toMatchObject({ subject: manifest.digest, result: 'ALLOW', action: 'verify' });
  });

  it('an image with nothing attached is rejected; an unreachable registry is exit 3; a bad policy exit 2', async () => {
    const store = await openStore(parseReference(`${reg.host}/e2e/bare`), { plainHttp: true });
    await pushPlatformImage(store, 'amd64', 512, 'v1');
    const bare = await vouch([
      'verify',
      'image',
      `${reg.host}/e2e/bare:v1`,
      '--key',
      f('a.pub'),
      '--plain-http',
    ]);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toMatch(/no signatures or attestations found/);
    const down = await vouch(['verify', 'image', '127.0.0.1:1/x/y:v1', '--key', f('a.pub'), '--plain-http']);
    expect(down.code).toBe(3);
    await writeFile(f('bad.yaml'), 'version: 1\nsigners: []\n');
    const bad = await vouch([
      'verify',
      'image',
      `${reg.host}/e2e/bare:v1`,
      '--policy',
      f('bad.yaml'),
      '--plain-http',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/policy .* is invalid/);
  });
});
