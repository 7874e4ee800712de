/**
 * The 70 sigstore-conformance verification cases (../shared/corpora), each with the artifact file
 * and with `sha256:<hex>` — through the library, and a sample through scripts/conformance-client
 * (the protocol wrapper the conformance suite drives, on the built dist/).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPublicKey, loadTrustedRoot } from '../../src/trust/index.js';
import { parseBundle, verifyBundle, type ArtifactInput, type TrustOptions } from '../../src/verify/bundle.js';

const ROOT = path.resolve(__dirname, '../..');
const CASES = path.resolve(ROOT, '../shared/corpora/sigstore-conformance/test/assets/bundle-verify');
const CLIENT = path.join(ROOT, 'scripts/conformance-client');
const ID =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISS = 'https://token.actions.githubusercontent.com';

interface Case {
  name: string;
  pass: boolean;
  dir: string;
  artifact: string;
  hex: string;
}

const cases: Case[] = readdirSync(CASES)
  .filter((n) => existsSync(path.join(CASES, n, 'bundle.sigstore.json')))
  .sort()
  .map((name) => {
    const dir = path.join(CASES, name);
    const artifact = existsSync(path.join(dir, 'artifact'))
      ? path.join(dir, 'artifact')
      : path.join(CASES, 'a.txt');
    return {
      name,
      dir,
      artifact,
      pass: !name.endsWith('_fail'),
      hex: createHash('sha256').update(readFileSync(artifact)).digest('hex'),
    };
  });

const read = (c: Case, f: string) => readFileSync(path.join(c.dir, f), 'utf8').trim();
const has = (c: Case, f: string) => existsSync(path.join(c.dir, f));

/** Trust as the protocol states it; a trust-setup error (invalid root or key) is a failed run. */
async function trustFor(c: Case): Promise<TrustOptions> {
  const trustedRoot = await loadTrustedRoot({
    file: has(c, 'trusted_root.json') ? path.join(c.dir, 'trusted_root.json') : undefined,
    offline: true,
  });
  if (has(c, 'key.pub'))
    return { trustedRoot, keys: [{ key: await loadPublicKey(path.join(c.dir, 'key.pub')) }] };
  return {
    trustedRoot,
    identities: [
      {
        subject: has(c, 'identity') ? read(c, 'identity') : ID,
        issuer: has(c, 'issuer') ? read(c, 'issuer') : ISS,
      },
    ],
  };
}

async function run(c: Case, artifact: ArtifactInput): Promise<{ ok: boolean; why: string }> {
  let trust: TrustOptions;
  try {
    trust = await trustFor(c);
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  const bytes = readFileSync(path.join(c.dir, 'bundle.sigstore.json'));
  const r = await verifyBundle(parseBundle(bytes, c.name), artifact, trust, { bytes, source: c.name });
  return { ok: r.report.ok, why: r.report.error ?? '' };
}

describe('sigstore-conformance bundle-verify', () => {
  it('has the 70 cases', () => {
    expect(cases).toHaveLength(70);
    expect(cases.filter((c) => c.pass)).toHaveLength(21);
  });

  describe.each(cases)('$name', (c) => {
    it(`${c.pass ? 'passes' : 'fails'} with the artifact file`, async () => {
      const r = await run(c, { kind: 'file', path: c.artifact });
      expect(r.ok, r.why).toBe(c.pass);
      if (!c.pass) expect(r.why).not.toBe('');
    });
    it(`${c.pass ? 'passes' : 'fails'} with sha256:<hex>`, async () => {
      const r = await run(c, { kind: 'digest', algorithm: 'sha256', hex: c.hex });
      expect(r.ok, r.why).toBe(c.pass);
    });
  });
});

describe('scripts/conformance-client (protocol wrapper over dist/)', () => {
  const client = (args: string[], cwd = '/') =>
    spawnSync(CLIENT, args, { encoding: 'utf8', cwd, timeout: 60_000 });
  const argsFor = (c: Case) => {
    const a = ['verify-bundle', '--bundle', path.join(c.dir, 'bundle.sigstore.json')];
    if (has(c, 'key.pub')) a.push('--key', path.join(c.dir, 'key.pub'));
    else
      a.push(
        '--certificate-identity',
        has(c, 'identity') ? read(c, 'identity') : ID,
        '--certificate-oidc-issuer',
        has(c, 'issuer') ? read(c, 'issuer') : ISS,
      );
    if (has(c, 'trusted_root.json')) a.push('--trusted-root', path.join(c.dir, 'trusted_root.json'));
    return a;
  };
  const sample = [
    'happy-path-v0.3',
    'rekor2-happy-path',
    'managed-key-happy-path',
    'wrong-material_fail',
    'trust-root-tlog-missing-validity-start_fail',
    'bundle-malformed-json_fail',
  ];
  it.each(sample)('%s, file and digest forms, from any cwd', (name) => {
    const c = cases.find((x) => x.name === name)!;
    for (const subject of [c.artifact, `sha256:${c.hex}`]) {
      const r = client([...argsFor(c), subject]);
      expect(r.status === 0, `${name} ${subject}: ${r.stderr}`).toBe(c.pass);
      expect(r.stderr).not.toMatch(/^\s+at .*\.(js|mjs):\d+/m);
    }
  });
  it('refuses sign-bundle and bad usage with a non-zero exit', () => {
    expect(client(['sign-bundle', '--identity-token', 't', '--bundle', '/tmp/x', '/tmp/y']).status).toBe(1);
    expect(client(['verify-bundle', '--bundle']).status).toBe(2);
    expect(
      client([
        'verify-bundle',
        '--bundle',
        path.join(CASES, 'happy-path-v0.3/bundle.sigstore.json'),
        path.join(CASES, 'a.txt'),
      ]).status,
    ).toBe(2);
  });
});
