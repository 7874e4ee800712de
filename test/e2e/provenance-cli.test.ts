/** `vouch provenance` as a pipeline runs it: the built CLI as a subprocess. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkStatement, decodeDssePayload, statementBindsDigest } from '../../src/attestation/index.js';
import { openStore, parseReference } from '../../src/oci/index.js';
import { pushPlatformImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';
import { hasStackTrace, ROOT, runVouch } from '../support/cli.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const SCANS = path.join(ROOT, 'test/fixtures/scans');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vouch-prov-e2e-'));
const work = path.join(tmp, 'work');
mkdirSync(work);
const fn = path.join(tmp, 'fn.zip');
writeFileSync(fn, Buffer.alloc(100_000, 7));
const FN_SHA256 = createHash('sha256').update(readFileSync(fn)).digest('hex');
let reg: TestRegistry;
let stack: SigstoreStack;

const SECRETS = {
  GITHUB_TOKEN: 'ghs_SECRETgh0123',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'SECRETidtok456',
  ACTIONS_RUNTIME_TOKEN: 'SECRETruntime789',
  AWS_SECRET_ACCESS_KEY: 'SECRETaws789',
  CI_JOB_TOKEN: 'SECRETjob111',
  CI_REGISTRY_PASSWORD: 'SECRETreg222',
  BUILDKITE_AGENT_ACCESS_TOKEN: 'SECRETbk333',
  VOUCH_KEY_PASSWORD: 'SECRETkeypw',
};
const GITHUB = {
  GITHUB_ACTIONS: 'true',
  CI: 'true',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/widget',
  GITHUB_SHA: COMMIT,
  GITHUB_REF: 'refs/heads/main',
  GITHUB_WORKFLOW_REF: 'acme/widget/.github/workflows/release.yml@refs/heads/main',
  GITHUB_RUN_ID: '123',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_EVENT_NAME: 'push',
  RUNNER_ENVIRONMENT: 'github-hosted',
};

function noSecrets(...texts: string[]): void {
  for (const t of texts) for (const v of Object.values(SECRETS)) expect(t, `leaked ${v}`).not.toContain(v);
}

beforeAll(async () => {
  [reg, stack] = await Promise.all([startRegistry({ name: 'provenance-e2e' }), startSigstoreStack()]);
  const keys = await runVouch(['keys', 'generate', '--no-password', '--out-dir', tmp]);
  expect(keys.code).toBe(0);
});
afterAll(async () => {
  await Promise.all([reg?.stop(), stack?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

describe('vouch provenance (unsigned)', () => {
  it('under GitHub Actions: stdout is exactly the statement; no secret anywhere', async () => {
    const r = await runVouch(['provenance', fn], {
      cleanEnv: true,
      cwd: work,
      env: { ...GITHUB, ...SECRETS },
    });
    expect(r.code).toBe(0);
    const st = JSON.parse(r.stdout) as { predicate: { runDetails: { builder: { id: string } } } };
    expect(checkStatement(st)).toBeUndefined();
    expect(statementBindsDigest(st as never, 'sha256', FN_SHA256)).toBe(true);
    expect(st.predicate.runDetails.builder.id).toBe('https://github.com/actions/runner/github-hosted');
    expect(r.stdout).toContain('.github/workflows/release.yml');
    noSecrets(r.stdout, r.stderr);
  });

  it('local checkout: credentials stripped from the remote, dirty tree warned about on stderr', async () => {
    const src = path.join(tmp, 'src');
    mkdirSync(src);
    const git = (...a: string[]) =>
      execFileSync('git', ['-C', src, '-c', 'user.email=a@b', '-c', 'user.name=a', ...a], {
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    writeFileSync(path.join(src, 'a.txt'), 'a');
    git('add', 'a.txt');
    git('commit', '-q', '-m', 'x');
    git('remote', 'add', 'origin', 'https://bob:tok3nSECRET@git.example.test/acme/widget.git');
    writeFileSync(path.join(src, 'a.txt'), 'changed');
    const head = git('rev-parse', 'HEAD');
    const r = await runVouch(['provenance', fn], { cleanEnv: true, cwd: src });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(head);
    expect(r.stdout).toContain('git+https://git.example.test/acme/widget.git@refs/heads/');
    expect(r.stdout + r.stderr).not.toContain('tok3nSECRET');
    expect(r.stderr).toMatch(/^warning: working tree is dirty/m);
    // --source-dir reads the same checkout from elsewhere.
    const r2 = await runVouch(['provenance', fn, '--source-dir', src], { cleanEnv: true, cwd: work });
    expect(r2.stdout).toContain(head);
  });

  it('--out writes the statement atomically, stdout stays empty; --digest sha512 adds sha512; several subjects', async () => {
    const other = path.join(tmp, 'other.tgz');
    writeFileSync(other, 'other');
    const out = path.join(work, 'prov.json');
    const r = await runVouch(['provenance', fn, other, '--digest', 'sha512', '--out', out], {
      cleanEnv: true,
      cwd: work,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const st = JSON.parse(readFileSync(out, 'utf8')) as {
      subject: { name: string; digest: Record<string, string> }[];
    };
    expect(st.subject.map((s) => s.name)).toEqual(['fn.zip', 'other.tgz']);
    expect(Object.keys(st.subject[0]!.digest)).toEqual(['sha256', 'sha512']);
    expect(readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--scan adds the byproduct and writes the vulns statement next to --out; --json summarizes', async () => {
    const out = path.join(work, 'scan.intoto.json');
    const r = await runVouch(
      [
        'provenance',
        fn,
        '--scan',
        path.join(SCANS, 'trivy-image.sarif'),
        '--scan-format',
        'sarif',
        '--out',
        out,
        '--json',
      ],
      { cleanEnv: true, cwd: work },
    );
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      ci: 'local',
      builderId: 'https://vouch.dev/builders/local',
      provenance: { kind: 'statement', out, predicateType: 'https://slsa.dev/provenance/v1' },
      vulns: {
        kind: 'statement',
        out: path.join(work, 'scan.intoto.vulns.json'),
        counts: { critical: 1, high: 2, medium: 2, low: 1, unknown: 1 },
      },
    });
    const vulns = JSON.parse(readFileSync(path.join(work, 'scan.intoto.vulns.json'), 'utf8')) as unknown;
    expect(checkStatement(vulns)).toBeUndefined();
  });

  it('a scan in the wrong format: exit 2, one line + hint, nothing written', async () => {
    const out = path.join(work, 'never.json');
    const r = await runVouch(
      [
        'provenance',
        fn,
        '--scan',
        path.join(SCANS, 'grype-image.json'),
        '--scan-format',
        'trivy',
        '--out',
        out,
      ],
      {
        cleanEnv: true,
        cwd: work,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('vouch: grype-image.json is not Trivy JSON: missing Results[]');
    expect(r.stderr).toMatch(/^hint: /m);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [['provenance'], /SUBJECT|subject/],
    [['provenance', 'fn.zip', '--push'], /sign/],
    [['provenance', 'fn.zip', '--scan', 'x.json'], /scan-format/],
    [['provenance', 'Not A Reference!'], /neither an existing file nor an image reference|whitespace/],
    [['provenance', 'fn.zip', '--material', 'https://x/y@sha256:zz'], /bad material/],
  ])('usage errors exit 2: %j', async (args, msg) => {
    const r = await runVouch(args, { cleanEnv: true, cwd: tmp });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});

describe('vouch provenance --sign', () => {
  it('signs provenance and vulns as DSSE bundles bound to the file', async () => {
    const out = path.join(work, 'fn.sigstore.json');
    const r = await runVouch(
      [
        'provenance',
        fn,
        '--sign',
        '--key',
        path.join(tmp, 'vouch.key'),
        '--scan',
        path.join(SCANS, 'trivy-image.json'),
        '--scan-format',
        'trivy',
        '--out',
        out,
      ],
      { cleanEnv: true, cwd: work, env: { ...GITHUB, ...SECRETS } },
    );
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r.stdout, r.stderr, readFileSync(out, 'utf8'));
    for (const [file, type] of [
      [out, 'https://slsa.dev/provenance/v1'],
      [path.join(work, 'fn.vulns.sigstore.json'), 'https://in-toto.io/attestation/vulns/v0.2'],
    ] as const) {
      const bundle = JSON.parse(readFileSync(file, 'utf8')) as {
        mediaType: string;
        dsseEnvelope: { payloadType: string; payload: string };
      };
      expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
      const st = decodeDssePayload(bundle.dsseEnvelope);
      expect(st.predicateType).toBe(type);
      expect(statementBindsDigest(st, 'sha256', FN_SHA256)).toBe(true);
    }
    // vouch's own verifier accepts the provenance for the file and refuses it for another.
    const ok = await runVouch(
      ['verify', 'bundle', out, fn, '--key', path.join(tmp, 'vouch.pub'), '--min-slsa-level', '1'],
      { cleanEnv: true },
    );
    expect(ok.code, ok.stderr).toBe(0);
    const other = await runVouch(
      ['verify', 'bundle', out, path.join(tmp, 'vouch.pub'), '--key', path.join(tmp, 'vouch.pub')],
      { cleanEnv: true },
    );
    expect(other.code).toBe(1);
  });

  it('keyless through the local Sigstore stack: Fulcio certificate for the workflow identity; the token is never printed', async () => {
    const identity = 'https://github.com/acme/widget/.github/workflows/release.yml@refs/heads/main';
    const token = stack.issueToken({ sub: identity });
    const out = path.join(work, 'keyless.sigstore.json');
    const r = await runVouch(
      [
        'provenance',
        fn,
        '--sign',
        '--identity-token',
        token,
        '--signing-config',
        stack.signingConfigPath,
        '--out',
        out,
        '--json',
      ],
      { cleanEnv: true, cwd: work, env: { ...GITHUB, ...SECRETS } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(token);
    noSecrets(r.stdout, r.stderr, readFileSync(out, 'utf8'));
    expect(JSON.parse(r.stdout)).toMatchObject({ provenance: { kind: 'bundle', out, signer: identity } });
    const v = await runVouch(
      [
        'verify',
        'bundle',
        out,
        fn,
        '--trusted-root',
        stack.trustedRootPath,
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        stack.issuer,
      ],
      { cleanEnv: true },
    );
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('--push attaches both bundles to the image; vouch tree lists both predicate types', async () => {
    const store = await openStore(parseReference(`${reg.host}/acme/widget`), { plainHttp: true });
    const { manifest } = await pushPlatformImage(store, 'amd64', 2048, '1.4.0');
    const ref = `${reg.host}/acme/widget:1.4.0`;
    const r = await runVouch(
      [
        'provenance',
        ref,
        '--plain-http',
        '--sign',
        '--key',
        path.join(tmp, 'vouch.key'),
        '--push',
        '--scan',
        path.join(SCANS, 'grype-image.json'),
        '--scan-format',
        'grype',
        '--out',
        path.join(work, 'img.sigstore.json'),
        '--json',
      ],
      { cleanEnv: true, cwd: work, env: GITHUB },
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      subjects: { digest: { sha256: string } }[];
      pushed: { predicateType: string; subject: string }[];
    };
    expect(summary.subjects[0]?.digest.sha256).toBe(manifest.digest.slice(7));
    expect(summary.pushed.map((p) => p.predicateType).sort()).toEqual([
      'https://in-toto.io/attestation/vulns/v0.2',
      'https://slsa.dev/provenance/v1',
    ]);
    expect(summary.pushed[0]?.subject).toBe(`${reg.host}/acme/widget@${manifest.digest}`);

    const t = await runVouch(['tree', ref, '--plain-http', '--json'], { cleanEnv: true });
    expect(t.code, t.stderr).toBe(0);
    const tree = JSON.parse(t.stdout) as { digest: string; referrers: { predicateType?: string }[] };
    expect(tree.digest).toBe(manifest.digest);
    expect(tree.referrers.map((x) => x.predicateType).sort()).toEqual([
      'https://in-toto.io/attestation/vulns/v0.2',
      'https://slsa.dev/provenance/v1',
    ]);
  });
});
