import { describe, expect, it } from 'vitest';
import { checkToken, decodeToken, resolveIdentityToken, tokenIdentity } from '../../src/signing/index.js';
import { VouchError } from '../../src/errors.js';

function jwt(claims: object): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'ES256', typ: 'JWT' })}.${enc(claims)}.c2ln`;
}
const now = Math.floor(Date.now() / 1000);
const good = { iss: 'https://issuer.test', sub: 'repo:acme/app', aud: 'sigstore', exp: now + 300 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VouchError);
    expect((e as VouchError).exitCode).toBe(2);
    return (e as VouchError).code;
  }
  return undefined;
}

describe('identity tokens', () => {
  it('decodes the payload and accepts a fresh sigstore token', () => {
    const c = decodeToken(jwt(good));
    expect(c.sub).toBe('repo:acme/app');
    expect(codeOf(() => checkToken(c))).toBeUndefined();
    expect(codeOf(() => checkToken({ ...good, aud: ['other', 'sigstore'] }))).toBeUndefined();
  });

  it('refuses expired tokens, saying when they expired', () => {
    const c = { ...good, exp: now - 3600 };
    expect(codeOf(() => checkToken(c))).toBe('TOKEN_EXPIRED');
    try {
      checkToken(c);
    } catch (e) {
      expect((e as Error).message).toMatch(/expired 60m ago/);
    }
  });

  it('refuses a wrong or missing audience, missing exp, missing iss', () => {
    expect(codeOf(() => checkToken({ ...good, aud: 'api://AzureADTokenExchange' }))).toBe('TOKEN_AUDIENCE');
    expect(codeOf(() => checkToken({ ...good, aud: undefined }))).toBe('TOKEN_AUDIENCE');
    expect(codeOf(() => checkToken({ ...good, exp: undefined }))).toBe('TOKEN_NO_EXPIRY');
    expect(codeOf(() => checkToken({ ...good, iss: undefined }))).toBe('TOKEN_NO_ISSUER');
  });

  it('refuses malformed tokens without echoing them', () => {
    expect(codeOf(() => decodeToken('abc.def'))).toBe('TOKEN_MALFORMED');
    try {
      decodeToken('secret-looking-value.!!!.x');
    } catch (e) {
      expect((e as Error).message).not.toContain('secret-looking-value');
    }
  });

  it('prefers the email claim for the human summary', () => {
    expect(tokenIdentity({ ...good, email: 'dev@acme.test' })).toBe('dev@acme.test');
    expect(tokenIdentity(good)).toBe('repo:acme/app');
  });

  it('takes the flag, then SIGSTORE_ID_TOKEN; no source is bad input', async () => {
    const t1 = jwt({ ...good, sub: 'flag' });
    const t2 = jwt({ ...good, sub: 'env' });
    expect((await resolveIdentityToken(t1, { SIGSTORE_ID_TOKEN: t2 })).claims.sub).toBe('flag');
    const fromEnv = await resolveIdentityToken(undefined, { SIGSTORE_ID_TOKEN: t2 });
    expect(fromEnv.claims.sub).toBe('env');
    expect(fromEnv.source).toBe('env');
    await expect(resolveIdentityToken(undefined, {})).rejects.toMatchObject({
      code: 'NO_SIGNER',
      exitCode: 2,
    });
  });
});
