import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { hasStackTrace, runVouch, type RunResult } from '../support/cli.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';
import { describeV03, statementOf, verifyIndependently } from '../support/sigstore-verify.js';
import { listReferrerManifests, openStore, parseReference } from '../../src/oci/index.js';
import { pushIndex } from '../support/images.js';

let dir: string;
let stack: SigstoreStack;
let reg: TestRegistry;
const PASSWORD = `pw-${randomBytes(6).toString('hex')}-Zq9`;
const secrets: string[] = [PASSWORD];
const runs: RunResult[] = [];

/** Runs the CLI without inherited signing env, recording output for the secret scan. */
async function vouch(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const r = await runVouch(args, {
    env: {
      SIGSTORE_ID_TOKEN: undefined,
      VOUCH_KEY_PASSWORD: undefined,
      ACTIONS_ID_TOKEN_REQUEST_URL: undefined,
      ...env,
    },
  });
  runs.push(r);
  expect(hasStackTrace(r.stderr + r.stdout)).toBe(false);
  return r;
}

/** The error contract: exactly `vouch: <message>` and `hint: <what to do>` on stderr. */
function expectOneLineError(r: RunResult, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  // Progress notes may come first; the error is the last one or two lines.
  const lines = r.stderr.trim().split('\n');
  const at = lines.findIndex((l) => l.startsWith('vouch: '));
  expect(at, r.stderr).toBeGreaterThanOrEqual(0);
  expect(lines[at]).toMatch(message);
  expect(lines.slice(at + 1).every((l) => l.startsWith('hint: '))).toBe(true);
  expect(lines.length - at).toBeLessThanOrEqual(2);
}

let keyPath: string;
let pubPem: string;
let pwFile: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-e2e-sign-'));
  [stack, reg] = await Promise.all([startSigstoreStack(), startRegistry({ name: 'e2e-sign' })]);
  pwFile = path.join(dir, 'pw');
  writeFileSync(pwFile, PASSWORD + '\n');
  const r = await vouch(['keys', 'generate', '--out-dir', path.join(dir, 'k'), '--password-file', pwFile]);
  expect(r.code, r.stderr).toBe(0);
  keyPath = path.join(dir, 'k', 'vouch.key');
  pubPem = readFileSync(path.join(dir, 'k', 'vouch.pub'), 'utf8');
  secrets.push(readFileSync(keyPath, 'utf8').split('\n')[1]!);
});

afterAll(async () => {
  await Promise.all([stack?.stop(), reg?.stop()]);
});

describe('vouch keys generate', () => {
  it('writes an encrypted vouch.key (0600) and vouch.pub; refuses to overwrite', async () => {
    expect(readFileSync(keyPath, 'utf8')).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(pubPem).toContain('-----BEGIN PUBLIC KEY-----');
    const before = readFileSync(keyPath, 'utf8');
    const r = await vouch(['keys', 'generate', '--out-dir', path.join(dir, 'k'), '--password-file', pwFile]);
    expectOneLineError(r, 2, /refusing to overwrite/);
    expect(readFileSync(keyPath, 'utf8')).toBe(before);
  });

  it('without a password source (no TTY, no VOUCH_KEY_PASSWORD) exits 2 and explains the options', async () => {
    const out = path.join(dir, 'k-none');
    const r = await vouch(['keys', 'generate', '--out-dir', out]);
    expectOneLineError(r, 2, /no password/);
    expect(r.stderr).toMatch(/--password-file.*VOUCH_KEY_PASSWORD.*--no-password/);
    expect(existsSync(path.join(out, 'vouch.key'))).toBe(false);
  });

  it('takes VOUCH_KEY_PASSWORD in CI; --no-password and --type work; --json describes the pair', async () => {
    const r = await vouch(
      ['keys', 'generate', '--out-dir', path.join(dir, 'k-env'), '--type', 'p384', '--json'],
      {
        VOUCH_KEY_PASSWORD: PASSWORD,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'p384', encrypted: true });
    const r2 = await vouch([
      'keys',
      'generate',
      '--out-dir',
      path.join(dir, 'k-plain'),
      '--no-password',
      '--type',
      'ed25519',
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'k-plain', 'vouch.key'), 'utf8')).toContain(
      '-----BEGIN PRIVATE KEY-----',
    );
  });
});

describe('vouch sign function', () => {
  it('writes FILE.sigstore.json: a v0.3 message signature over the streamed sha256', async () => {
    const data = randomBytes(4 * 1024 * 1024 + 3);
    const f = path.join(dir, 'fn.zip');
    writeFileSync(f, data);
    const r = await vouch(['sign', 'function', f, '--key', keyPath, '--key-password-file', pwFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(out.bundle.path).toBe(`${f}.sigstore.json`);
    const bytes = readFileSync(`${f}.sigstore.json`);
    expect(out.bundle.digest).toBe('sha256:' + createHash('sha256').update(bytes).digest('hex'));
    const json = JSON.parse(bytes.toString());
    expect(describeV03(json)).toMatchObject({ content: 'message', key: 'publicKey' });
    verifyIndependently(json, { publicKeyPem: pubPem, artifact: data });
  });

  it('human output: bundle digest and path on stdout, summary on stderr', async () => {
    const f = path.join(dir, 'human.jar');
    writeFileSync(f, 'jar bytes');
    const r = await vouch(
      ['sign', 'function', f, '--key', keyPath, '--bundle-out', path.join(dir, 'h.json')],
      {
        VOUCH_KEY_PASSWORD: PASSWORD,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^sha256:[a-f0-9]{64} ${path.join(dir, 'h.json')}$`));
    expect(r.stderr).toMatch(/^signed .*human\.jar \(sha256:[a-f0-9]{64}, 9 bytes\) as key /);
  });

  it('wrong password → exit 2, one line, no bundle written', async () => {
    const f = path.join(dir, 'wrong.zip');
    writeFileSync(f, 'x');
    const bad = path.join(dir, 'bad-pw');
    writeFileSync(bad, 'not-the-password');
    const r = await vouch(['sign', 'function', f, '--key', keyPath, '--key-password-file', bad]);
    expectOneLineError(r, 2, new RegExp(`^vouch: cannot decrypt ${keyPath}: wrong password$`));
    expect(existsSync(`${f}.sigstore.json`)).toBe(false);
    expect(r.stderr).not.toContain('not-the-password');
  });

  it('unreadable key → exit 2; encrypted key without password → exit 2 naming the options', async () => {
    const f = path.join(dir, 'nokey.zip');
    writeFileSync(f, 'x');
    const r = await vouch(['sign', 'function', f, '--key', path.join(dir, 'missing.key')]);
    expectOneLineError(r, 2, /cannot read key .*missing\.key: no such file/);
    const r2 = await vouch(['sign', 'function', f, '--key', keyPath]);
    expectOneLineError(r2, 2, /password is needed/);
    expect(r2.stderr).toMatch(/--key-password-file.*VOUCH_KEY_PASSWORD/);
    expect(existsSync(`${f}.sigstore.json`)).toBe(false);
  });

  it('keyless through the local stack (SIGSTORE_ID_TOKEN + --signing-config) verifies', async () => {
    const token = stack.issueToken({ sub: 'https://ci.test/workflows/release@refs/heads/main' });
    secrets.push(token);
    const f = path.join(dir, 'keyless.zip');
    writeFileSync(f, 'keyless package');
    const r = await vouch(['sign', 'function', f, '--signing-config', stack.signingConfigPath, '--json'], {
      SIGSTORE_ID_TOKEN: token,
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      signer: 'https://ci.test/workflows/release@refs/heads/main',
      issuer: stack.issuer,
    });
    expect(typeof out.tlogIndex).toBe('number');
    verifyIndependently(JSON.parse(readFileSync(`${f}.sigstore.json`, 'utf8')), {
      trustedRoot: stack.trustedRoot,
      artifact: Buffer.from('keyless package'),
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 2,
    });
  });

  it('expired token → exit 2 before any network call; nothing written', async () => {
    const token = stack.issueToken({ exp: Math.floor(Date.now() / 1000) - 600 });
    secrets.push(token);
    const f = path.join(dir, 'expired.zip');
    writeFileSync(f, 'x');
    const before = { ...stack.requests };
    const r = await vouch([
      'sign',
      'function',
      f,
      '--identity-token',
      token,
      '--signing-config',
      stack.signingConfigPath,
    ]);
    expectOneLineError(r, 2, /identity token expired 10m ago/);
    expect(stack.requests).toEqual(before);
    expect(existsSync(`${f}.sigstore.json`)).toBe(false);
  });

  it('Fulcio down → exit 3 naming Fulcio; Rekor 500 → exit 3 naming Rekor; nothing written', async () => {
    const f = path.join(dir, 'down.zip');
    writeFileSync(f, 'x');
    const token = stack.issueToken();
    secrets.push(token);
    stack.faults.fulcio = 'down';
    try {
      const r = await vouch([
        'sign',
        'function',
        f,
        '--identity-token',
        token,
        '--fulcio-url',
        stack.fulcioUrl,
        '--rekor-url',
        stack.rekorUrl,
      ]);
      expectOneLineError(r, 3, new RegExp(`^vouch: Fulcio at ${stack.url} failed`));
    } finally {
      stack.faults.fulcio = undefined;
    }
    stack.faults.rekor = 500;
    try {
      const r = await vouch([
        'sign',
        'function',
        f,
        '--identity-token',
        token,
        '--fulcio-url',
        stack.fulcioUrl,
        '--rekor-url',
        stack.rekorUrl,
      ]);
      expectOneLineError(r, 3, /^vouch: Rekor at .* failed: HTTP 500$/);
    } finally {
      stack.faults.rekor = undefined;
    }
    expect(existsSync(`${f}.sigstore.json`)).toBe(false);
  });

  it('--push stores the package as an OCI artifact with the bundle attached', async () => {
    const f = path.join(dir, 'pushed.zip');
    writeFileSync(f, randomBytes(100_000));
    const r = await vouch([
      'sign',
      'function',
      f,
      '--key',
      keyPath,
      '--key-password-file',
      pwFile,
      '--push',
      `${reg.host}/fn/pushed:1`,
      '--plain-http',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.push.reference).toBe(`${reg.host}/fn/pushed:1@${out.push.artifact}`);
    const store = await openStore(parseReference(`${reg.host}/fn/pushed`), { plainHttp: true });
    const refs = await listReferrerManifests(store, out.push.artifact);
    expect(refs.map((x) => x.descriptor.digest)).toEqual([out.push.referrer]);
  });
});

describe('vouch sign image / attest', () => {
  it('signs a tag (noting the resolution), attaches a referrer that vouch tree shows', async () => {
    const store = await openStore(parseReference(`${reg.host}/demo/app`), { plainHttp: true });
    const img = await pushIndex(store, 'v1');
    const r = await vouch([
      'sign',
      'image',
      `${reg.host}/demo/app:v1`,
      '--key',
      keyPath,
      '--key-password-file',
      pwFile,
      '--plain-http',
      '--recursive',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resolved v1 to ${img.root.digest}`);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    const t = await vouch(['tree', `${reg.host}/demo/app:v1`, '--plain-http', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const node = JSON.parse(t.stdout);
    expect(node.referrers.map((x: { predicateType?: string }) => x.predicateType)).toEqual([
      'https://sigstore.dev/cosign/sign/v1',
    ]);
    for (const c of node.children) expect(c.referrers).toHaveLength(1);
  });

  it('attest an image and a file; bundles carry the predicate', async () => {
    const store = await openStore(parseReference(`${reg.host}/demo/att`), { plainHttp: true });
    const img = await pushIndex(store, 'v2');
    const pred = path.join(dir, 'scan.json');
    writeFileSync(pred, JSON.stringify({ scanner: { uri: 'pkg:generic/scanner', result: [] } }));
    const type = 'https://in-toto.io/attestation/vulns/v0.2';
    const r = await vouch(
      [
        'attest',
        `${reg.host}/demo/att:v2`,
        '--predicate',
        pred,
        '--type',
        type,
        '--key',
        keyPath,
        '--plain-http',
        '--json',
      ],
      {
        VOUCH_KEY_PASSWORD: PASSWORD,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).subject.digest).toBe(img.root.digest);
    const refs = await listReferrerManifests(store, img.root);
    expect(refs.map((x) => x.descriptor.annotations?.['dev.sigstore.bundle.predicateType'])).toEqual([type]);

    const f = path.join(dir, 'app.zip');
    writeFileSync(f, 'app');
    const r2 = await vouch([
      'attest',
      f,
      '--predicate',
      pred,
      '--type',
      type,
      '--key',
      keyPath,
      '--key-password-file',
      pwFile,
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    const json = JSON.parse(readFileSync(`${f}.vulns.sigstore.json`, 'utf8'));
    verifyIndependently(json, { publicKeyPem: pubPem });
    const st = statementOf(json);
    expect(st.subject).toEqual([
      { name: 'app.zip', digest: { sha256: createHash('sha256').update('app').digest('hex') } },
    ]);
    expect(st.predicateType).toBe(type);
  });

  it('keyless sign image with Rekor failing attaches nothing (exit 3)', async () => {
    const store = await openStore(parseReference(`${reg.host}/demo/nothing`), { plainHttp: true });
    const img = await pushIndex(store, 'v1');
    const token = stack.issueToken();
    secrets.push(token);
    stack.faults.rekor = 500;
    try {
      const r = await vouch(
        [
          'sign',
          'image',
          `${reg.host}/demo/nothing:v1`,
          '--plain-http',
          '--signing-config',
          stack.signingConfigPath,
        ],
        {
          SIGSTORE_ID_TOKEN: token,
        },
      );
      expectOneLineError(r, 3, /Rekor/);
    } finally {
      stack.faults.rekor = undefined;
    }
    expect(await listReferrerManifests(store, img.root)).toEqual([]);
  });

  it('bad predicate type and missing predicate file are exit 2', async () => {
    const f = path.join(dir, 'b.zip');
    writeFileSync(f, 'b');
    const r = await vouch([
      'attest',
      f,
      '--predicate',
      path.join(dir, 'none.json'),
      '--type',
      'https://x.test/v1',
      '--key',
      keyPath,
    ]);
    expectOneLineError(r, 2, /cannot read predicate/);
    const r2 = await vouch(['attest', f, '--predicate', pwFile, '--type', 'not a uri', '--key', keyPath]);
    expectOneLineError(r2, 2, /not an absolute URI/);
  });
});

describe('secrets', () => {
  it('no password, token or private key material appears in any output', () => {
    expect(runs.length).toBeGreaterThan(10);
    for (const r of runs) {
      const text = r.stdout + r.stderr;
      expect(text).not.toContain('PRIVATE KEY');
      for (const s of secrets) expect(text).not.toContain(s);
    }
  });
});
