/** `vouch policy init` and `vouch policy validate` as a user runs them (built CLI). */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateKeyPair } from '../../src/signing/index.js';
import { hasStackTrace, runVouch } from '../support/cli.js';

let dir: string;
const f = (n: string) => path.join(dir, n);
const vouch = async (args: string[]) => {
  const r = await runVouch(args, { cwd: dir, env: { VOUCH_OFFLINE: '1' } });
  expect(hasStackTrace(r.stderr)).toBe(false);
  return r;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-e2e-policy-'));
  const kp = await generateKeyPair({ type: 'p256' });
  await writeFile(path.join(dir, 'vouch.pub'), kp.publicKeyPem);
});

describe('vouch policy init', () => {
  it('writes a valid policy with the key relative to the policy, and refuses to overwrite it', async () => {
    const args = [
      'policy',
      'init',
      '--key',
      f('vouch.pub'),
      '--builder-id',
      'https://b.example/hosted@v1',
      '--builder-level',
      '3',
      '--builder-id',
      'https://b.example/other',
      '--builder-level',
      '1',
      '--min-slsa-level',
      '3',
      '--max-severity',
      'high',
      '--promote-from',
      'r1/staging/*',
      '--promote-to',
      'r2/prod/*',
      '--out',
      f('sub/../p.yaml'),
    ];
    const r = await vouch(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote/);
    const doc = parse(await readFile(f('p.yaml'), 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({
      version: 1,
      signers: [{ name: 'default', key: { path: 'vouch.pub' } }],
      builders: [
        { id: 'https://b.example/hosted@v1', maxLevel: 3 },
        { id: 'https://b.example/other', maxLevel: 1 },
      ],
      minSlsaLevel: 3,
      vulnerabilities: { maxSeverity: 'high' },
      promotion: { sources: ['r1/staging/*'], destinations: ['r2/prod/*'] },
    });
    const again = await vouch(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('prints a keyless policy to stdout', async () => {
    const r = await vouch([
      'policy',
      'init',
      '--certificate-identity',
      'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
      '--certificate-oidc-issuer',
      'https://token.actions.githubusercontent.com',
      '--source-uri',
      'github.com/acme/app',
      '--source-branch',
      'main',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(parse(r.stdout)).toMatchObject({
      signers: [{ identity: { issuer: 'https://token.actions.githubusercontent.com' } }],
      source: { uri: 'github.com/acme/app', branches: ['main'] },
    });
  });

  it('refuses contradictory or empty input with exit 2', async () => {
    expect((await vouch(['policy', 'init'])).code).toBe(2);
    const r = await vouch([
      'policy',
      'init',
      '--key',
      f('vouch.pub'),
      '--certificate-identity',
      'x',
      '--certificate-oidc-issuer',
      'y',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/either a key or a keyless identity/);
    const levels = await vouch([
      'policy',
      'init',
      '--key',
      f('vouch.pub'),
      '--builder-id',
      'b',
      '--builder-level',
      '2',
      '--builder-level',
      '3',
    ]);
    expect(levels.code).toBe(2);
    expect((await vouch(['policy', 'init', '--key', f('missing.pub')])).code).toBe(2);
  });
});

describe('vouch policy validate', () => {
  it('prints what a valid policy allows in plain words', async () => {
    await writeFile(
      f('v.yaml'),
      'version: 1\nsigners:\n  - name: ci\n    key: {path: vouch.pub}\nbuilders:\n  - {id: "https://b.example/hosted", maxLevel: 2, signers: [ci]}\nminSlsaLevel: 2\n',
    );
    const r = await vouch(['policy', 'validate', f('v.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/signatures made with the public key in vouch.pub/);
    expect(r.stdout).toMatch(/builder id "https:\/\/b.example\/hosted" \(any ref of it\): level 2/);
    expect(r.stdout).toMatch(/Requires SLSA Build level 2 or higher/);
    const j = await vouch(['policy', 'validate', f('v.yaml'), '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ valid: true });
  });

  it('init writes an unsatisfiable policy with a warning; validate refuses it (exit 2)', async () => {
    const r = await vouch([
      'policy',
      'init',
      '--key',
      f('vouch.pub'),
      '--builder-id',
      'b',
      '--builder-level',
      '1',
      '--min-slsa-level',
      '3',
      '--out',
      f('l1.yaml'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: \/minSlsaLevel: minSlsaLevel 3 is unreachable/);
    const v = await vouch(['policy', 'validate', f('l1.yaml')]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/can never allow anything/);
  });

  it('lists every problem of an invalid policy and exits 2', async () => {
    await writeFile(
      f('bad.json'),
      JSON.stringify({
        version: 1,
        signers: [{ identity: { issuer: 'i', subject: 's' }, key: { path: 'vouch.pub' } }],
        builders: [{ id: 'b', maxLevel: 3, signers: ['ghost'] }],
      }),
    );
    const r = await vouch(['policy', 'validate', f('bad.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/both "identity" and "key"/);
    expect(r.stderr).toMatch(/unknown signer name "ghost"/);
    await writeFile(f('empty.yaml'), '');
    expect((await vouch(['policy', 'validate', f('empty.yaml')])).code).toBe(2);
    await writeFile(f('nokey.yaml'), 'version: 1\nsigners:\n  - key: {path: gone.pub}\n');
    const nk = await vouch(['policy', 'validate', f('nokey.yaml')]);
    expect(nk.code).toBe(2);
    expect(nk.stderr).toMatch(/cannot read policy key/);
  });
});
