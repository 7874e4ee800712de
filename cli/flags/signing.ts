/**
 * Signing flags shared by every command that signs (sign, attest, provenance, promote) and
 * their translation into a SignerSpec. Passwords: --key-password-file, else a prompt when
 * stdin is a terminal, else VOUCH_KEY_PASSWORD (the CI fallback). Unencrypted keys need none.
 */
import { readFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { badInput } from '../../src/errors.js';
import { isEncryptedPem, readKeyFile, type SignerSpec } from '../../src/signing/index.js';

export const signingFlags = {
  key: Flags.string({
    description: 'Sign with this PKCS#8 PEM private key (ECDSA P-256/P-384 or Ed25519) instead of keyless.',
    helpValue: 'FILE',
    helpGroup: 'SIGNING',
  }),
  'key-password-file': Flags.string({
    description:
      'File holding the key password. Without it: a prompt on a terminal, else $VOUCH_KEY_PASSWORD (for CI).',
    helpValue: 'FILE',
    helpGroup: 'SIGNING',
  }),
  certificate: Flags.string({
    description:
      'PEM file with the certificate for --key (leaf first, then chain) issued by your organisation CA.',
    helpValue: 'FILE',
    helpGroup: 'SIGNING',
  }),
  'tlog-upload': Flags.boolean({
    description: 'With --key: also record the signature in the Rekor transparency log (--rekor-url).',
    default: false,
    helpGroup: 'SIGNING',
  }),
  'identity-token': Flags.string({
    description:
      'OIDC identity token (JWT, audience "sigstore") for keyless signing. Default: $SIGSTORE_ID_TOKEN, then the GitHub Actions token endpoint.',
    helpValue: 'JWT',
    helpGroup: 'SIGNING',
  }),
  'fulcio-url': Flags.string({
    description: 'Fulcio URL for keyless signing (default https://fulcio.sigstore.dev).',
    helpValue: 'URL',
    helpGroup: 'SIGNING',
  }),
  'rekor-url': Flags.string({
    description: 'Rekor v1 URL (default https://rekor.sigstore.dev).',
    helpValue: 'URL',
    helpGroup: 'SIGNING',
  }),
  'tsa-url': Flags.string({
    description:
      'RFC 3161 timestamp authority URL; adds a signed timestamp to the bundle (keyless, or --key; needed with --certificate unless --tlog-upload).',
    helpValue: 'URL',
    helpGroup: 'SIGNING',
  }),
  'signing-config': Flags.string({
    description:
      'Sigstore SigningConfig v0.2 JSON naming Fulcio, Rekor (v1 or v2) and TSA; flags above override it.',
    helpValue: 'FILE',
    helpGroup: 'SIGNING',
  }),
};

export interface SigningFlagValues {
  key?: string;
  'key-password-file'?: string;
  certificate?: string;
  'tlog-upload'?: boolean;
  'identity-token'?: string;
  'fulcio-url'?: string;
  'rekor-url'?: string;
  'tsa-url'?: string;
  'signing-config'?: string;
}

export interface SignerSpecContext {
  env?: NodeJS.ProcessEnv;
  /** Whether stdin is a terminal (a prompt is then allowed); default process.stdin.isTTY. */
  interactive?: boolean;
}

export async function signerSpec(flags: SigningFlagValues, ctx: SignerSpecContext = {}): Promise<SignerSpec> {
  const env = ctx.env ?? process.env;
  if (flags.key) {
    if (flags['identity-token']) {
      throw badInput(
        'SIGNER_CONFLICT',
        '--key and --identity-token cannot be combined',
        'choose key-based or keyless signing',
      );
    }
    for (const f of ['fulcio-url', 'signing-config'] as const) {
      if (flags[f])
        throw badInput('SIGNER_CONFLICT', `--${f} is for keyless signing and cannot be used with --key`);
    }
    const pem = await readKeyFile(flags.key);
    const password = isEncryptedPem(pem)
      ? await keyPassword(flags['key-password-file'], { env, interactive: ctx.interactive, what: flags.key })
      : undefined;
    return {
      kind: 'key',
      keyPath: flags.key,
      password,
      certificatePath: flags.certificate,
      tlogUpload: flags['tlog-upload'] ?? false,
      rekorUrl: flags['rekor-url'],
      tsaUrl: flags['tsa-url'],
    };
  }
  if (flags.certificate) {
    throw badInput(
      'CERT_WITHOUT_KEY',
      '--certificate needs --key (the private key the certificate was issued for)',
    );
  }
  if (flags['key-password-file']) {
    throw badInput('PASSWORD_WITHOUT_KEY', '--key-password-file needs --key');
  }
  return {
    kind: 'keyless',
    identityToken: flags['identity-token'],
    fulcioUrl: flags['fulcio-url'],
    rekorUrl: flags['rekor-url'],
    tsaUrl: flags['tsa-url'],
    signingConfigPath: flags['signing-config'],
    env,
  };
}

/**
 * Resolves a key password: --key-password-file, a hidden prompt on a terminal, then
 * VOUCH_KEY_PASSWORD. Fails with exit 2 naming the three options.
 */
export async function keyPassword(
  passwordFile: string | undefined,
  opts: { env?: NodeJS.ProcessEnv; interactive?: boolean; what: string; confirm?: boolean },
): Promise<string> {
  const env = opts.env ?? process.env;
  if (passwordFile) return readPasswordFile(passwordFile);
  const interactive = opts.interactive ?? process.stdin.isTTY === true;
  if (interactive) {
    const pw = await promptHidden(`Password for ${opts.what}: `);
    if (opts.confirm) {
      const again = await promptHidden('Repeat password: ');
      if (again !== pw) throw badInput('PASSWORD_MISMATCH', 'the passwords do not match');
    }
    if (!pw) throw badInput('PASSWORD_EMPTY', 'empty password');
    return pw;
  }
  if (env.VOUCH_KEY_PASSWORD) return env.VOUCH_KEY_PASSWORD;
  throw badInput(
    'KEY_PASSWORD_REQUIRED',
    `a password is needed for ${opts.what} and none was given`,
    'pass --key-password-file FILE, run on a terminal to be prompted, or set VOUCH_KEY_PASSWORD',
  );
}

export async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw badInput(
      'PASSWORD_FILE',
      `cannot read password file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'read error'}`,
      undefined,
      err,
    );
  }
  // One trailing newline is what `echo pw > file` adds; it is not part of the password.
  const pw = text.replace(/\r?\n$/, '');
  if (!pw) throw badInput('PASSWORD_EMPTY', `password file ${file} is empty`);
  return pw;
}

/** Reads a line from the terminal without echoing it. */
export async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  const wasRaw = stdin.isRaw;
  stdin.setRawMode?.(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            reject(badInput('PASSWORD_ABORTED', 'password prompt aborted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(wasRaw ?? false);
    stdin.pause();
  }
}
