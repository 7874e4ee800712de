import { Flags } from '@oclif/core';
import { VouchCommand } from '../../cli/base.js';
import { keyPassword, readPasswordFile } from '../../cli/flags/signing.js';
import { badInput } from '../../src/errors.js';
import { generateKeyPair, writeKeyPair, KEY_TYPES, type KeyType } from '../../src/signing/index.js';

export default class KeysGenerate extends VouchCommand {
  static override summary = 'Generate a signing key pair (vouch.key + vouch.pub).';
  static override description = `Writes vouch.key (PKCS#8 PEM private key, mode 0600) and vouch.pub (SPKI PEM public key) into --out-dir. The private key is encrypted (aes-256-cbc, key derived with PBKDF2 by OpenSSL) unless --no-password is given.

The password comes from --password-file, else a prompt when stdin is a terminal, else $VOUCH_KEY_PASSWORD (the CI fallback); without any of them the command refuses. Existing files are never overwritten.

Key types: p256 (ECDSA P-256, default, the most widely verifiable), p384 (ECDSA P-384), ed25519 (DSSE attestations and image signatures only: Sigstore message signatures over files need ECDSA).`;
  static override examples = [
    '<%= config.bin %> keys generate',
    '<%= config.bin %> keys generate --out-dir ./keys --password-file pw.txt',
    'VOUCH_KEY_PASSWORD=… <%= config.bin %> keys generate --type p384 --out-dir ci-keys',
    '<%= config.bin %> keys generate --type ed25519 --no-password --out-dir /tmp/test-key',
  ];
  static override flags = {
    'out-dir': Flags.string({
      description: 'Directory for vouch.key and vouch.pub.',
      default: '.',
      helpValue: 'DIR',
    }),
    type: Flags.string({ description: 'Key type.', options: [...KEY_TYPES], default: 'p256' }),
    'password-file': Flags.string({
      description: 'File holding the password that encrypts vouch.key.',
      helpValue: 'FILE',
      exclusive: ['no-password'],
    }),
    'no-password': Flags.boolean({
      description: 'Write vouch.key unencrypted (test keys only).',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(KeysGenerate);
    let password: string | undefined;
    if (flags['no-password']) password = undefined;
    else if (flags['password-file']) password = await readPasswordFile(flags['password-file']);
    else {
      password = await keyPassword(undefined, { what: 'the new key', confirm: true }).catch(
        (err: unknown) => {
          if ((err as { code?: string }).code === 'KEY_PASSWORD_REQUIRED') {
            throw badInput(
              'KEY_PASSWORD_REQUIRED',
              'no password for the new key',
              'pass --password-file FILE, run on a terminal to be prompted, set VOUCH_KEY_PASSWORD, or --no-password for an unencrypted test key',
            );
          }
          throw err;
        },
      );
    }
    const pair = await generateKeyPair({ type: flags.type as KeyType, password });
    const written = await writeKeyPair(flags['out-dir'], pair);
    this.note(
      `wrote ${written.privateKeyPath} (${pair.type}, ${pair.encrypted ? 'encrypted' : 'NOT encrypted'})`,
    );
    this.note(`wrote ${written.publicKeyPath} (hint ${pair.hint})`);
    this.render(
      {
        type: pair.type,
        encrypted: pair.encrypted,
        privateKey: written.privateKeyPath,
        publicKey: written.publicKeyPath,
        hint: pair.hint,
      },
      (d) => d.publicKey,
    );
  }
}
