import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signerSpec } from '../../cli/flags/signing.js';
import { generateKeyPair, writeKeyPair } from '../../src/signing/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-flags-'));

async function keys() {
  const enc = await writeKeyPair(
    path.join(dir, 'enc'),
    await generateKeyPair({ password: 'from-somewhere' }),
  );
  const plain = await writeKeyPair(path.join(dir, 'plain'), await generateKeyPair());
  return { enc: enc.privateKeyPath, plain: plain.privateKeyPath };
}
const ready = keys();

describe('signerSpec (signing flags → SignerSpec)', () => {
  it('password order: --key-password-file (one trailing newline dropped), then VOUCH_KEY_PASSWORD when not a TTY', async () => {
    const { enc } = await ready;
    const pw = path.join(dir, 'pw');
    writeFileSync(pw, 'from-file\n');
    const fromFile = await signerSpec(
      { key: enc, 'key-password-file': pw },
      { env: { VOUCH_KEY_PASSWORD: 'from-env' }, interactive: false },
    );
    expect(fromFile).toMatchObject({ kind: 'key', keyPath: enc, password: 'from-file' });
    const fromEnv = await signerSpec(
      { key: enc },
      { env: { VOUCH_KEY_PASSWORD: 'from-env' }, interactive: false },
    );
    expect(fromEnv).toMatchObject({ password: 'from-env' });
    await expect(signerSpec({ key: enc }, { env: {}, interactive: false })).rejects.toMatchObject({
      code: 'KEY_PASSWORD_REQUIRED',
      exitCode: 2,
    });
  });

  it('an unencrypted key needs no password', async () => {
    const { plain } = await ready;
    expect(await signerSpec({ key: plain }, { env: {}, interactive: false })).toMatchObject({
      kind: 'key',
      password: undefined,
    });
  });

  it('refuses contradictory flags', async () => {
    const { plain } = await ready;
    await expect(signerSpec({ key: plain, 'identity-token': 'x.y.z' }, { env: {} })).rejects.toMatchObject({
      code: 'SIGNER_CONFLICT',
    });
    await expect(
      signerSpec({ key: plain, 'fulcio-url': 'https://f.test' }, { env: {} }),
    ).rejects.toMatchObject({
      code: 'SIGNER_CONFLICT',
    });
    await expect(signerSpec({ certificate: 'c.pem' }, { env: {} })).rejects.toMatchObject({
      code: 'CERT_WITHOUT_KEY',
    });
  });

  it('keyless: passes URLs, config and the environment through; --key options stay off', async () => {
    const env = { SIGSTORE_ID_TOKEN: 't' };
    expect(
      await signerSpec(
        { 'fulcio-url': 'https://f.test', 'tsa-url': 'https://t.test', 'signing-config': 'cfg.json' },
        { env },
      ),
    ).toEqual({
      kind: 'keyless',
      identityToken: undefined,
      fulcioUrl: 'https://f.test',
      rekorUrl: undefined,
      tsaUrl: 'https://t.test',
      signingConfigPath: 'cfg.json',
      env,
    });
  });
});
