// The sigstore-conformance CLI protocol (docs/cli_protocol.md in sigstore-conformance), verify side:
//   verify-bundle [--staging] --bundle FILE (--certificate-identity I --certificate-oidc-issuer O | --key K)
//                 [--trusted-root FILE] FILE_OR_DIGEST
// Exit 0 when the bundle verifies, 1 when it does not, 2 on bad usage. Uses vouch's library only.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist/src');

function die(code, message) {
  process.stderr.write(`conformance-client: ${message}\n`);
  process.exit(code);
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === 'sign-bundle') die(1, 'unsupported: sign-bundle');
  if (cmd !== 'verify-bundle')
    die(
      2,
      `usage: verify-bundle --bundle FILE (--certificate-identity I --certificate-oidc-issuer O | --key K) [--trusted-root FILE] FILE_OR_DIGEST`,
    );
  const opts = {};
  const positional = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--staging') opts.staging = true;
    else if (
      ['--bundle', '--certificate-identity', '--certificate-oidc-issuer', '--key', '--trusted-root'].includes(
        a,
      )
    ) {
      if (i + 1 >= rest.length) die(2, `${a} needs a value`);
      opts[a.slice(2)] = rest[++i];
    } else if (a.startsWith('--')) die(2, `unknown option ${a}`);
    else positional.push(a);
  }
  if (!opts.bundle || positional.length !== 1) die(2, 'need --bundle FILE and one FILE_OR_DIGEST');
  if (!existsSync(path.join(dist, 'verify/bundle.js')))
    die(2, `vouch is not built: run npm run build in ${root}`);
  const { verifyBundle, parseBundle, assertTrustStated } = await import(path.join(dist, 'verify/bundle.js'));
  const { loadTrustedRoot, loadPublicKey } = await import(path.join(dist, 'trust/index.js'));

  if (opts.staging && !opts['trusted-root'])
    die(2, '--staging needs --trusted-root (vouch embeds only the production root)');
  const trustedRoot = await loadTrustedRoot({ file: opts['trusted-root'], offline: true });
  const trust = { trustedRoot };
  if (opts.key) trust.keys = [{ key: await loadPublicKey(opts.key) }];
  if (opts['certificate-identity'] !== undefined || opts['certificate-oidc-issuer'] !== undefined) {
    trust.identities = [{ subject: opts['certificate-identity'], issuer: opts['certificate-oidc-issuer'] }];
  }
  assertTrustStated(trust);

  // Protocol: sha256:<64 hex> that is not a path on disk is a digest; anything else is a file.
  const subject = positional[0];
  const m = /^sha256:([0-9a-fA-F]{64})$/.exec(subject);
  const artifact =
    m && !existsSync(subject)
      ? { kind: 'digest', algorithm: 'sha256', hex: m[1].toLowerCase() }
      : { kind: 'file', path: subject };

  const bytes = readFileSync(opts.bundle);
  const result = await verifyBundle(parseBundle(bytes, opts.bundle), artifact, trust, {
    source: opts.bundle,
    bytes,
  });
  if (!result.report.ok) die(1, `FAIL: ${result.report.error ?? 'verification failed'}`);
  process.stderr.write(`OK: ${result.report.checks.map((c) => c.name).join(', ')}\n`);
}

main(process.argv.slice(2)).catch((err) => {
  const code = typeof err?.exitCode === 'number' ? err.exitCode : 3;
  die(code === 0 ? 3 : code, err?.message ?? String(err));
});
