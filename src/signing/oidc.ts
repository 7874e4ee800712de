/**
 * OIDC identity tokens for keyless signing. The token is checked locally (expiry, audience)
 * before any network call so that a stale or mis-scoped token fails fast with exit 2; its
 * signature is Fulcio's to check. Tokens never appear in messages.
 */
import { badInput, ioFailure } from '../errors.js';

export const SIGSTORE_AUDIENCE = 'sigstore';

export interface TokenClaims {
  iss?: string;
  sub?: string;
  email?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  [claim: string]: unknown;
}

export type TokenSource = 'flag' | 'env' | 'github-actions';

export interface IdentityToken {
  token: string;
  claims: TokenClaims;
  source: TokenSource;
}

/** Decodes the JWT payload (no signature check). Malformed tokens are bad input. */
export function decodeToken(token: string): TokenClaims {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !parts[1]) {
    throw badInput(
      'TOKEN_MALFORMED',
      'identity token is not a JWT (expected three dot-separated parts)',
      tokenHint(),
    );
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw badInput('TOKEN_MALFORMED', 'identity token payload is not base64url JSON', tokenHint());
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) {
    throw badInput('TOKEN_MALFORMED', 'identity token payload is not a JSON object', tokenHint());
  }
  return claims as TokenClaims;
}

/**
 * Checks what can be checked without the issuer: expiry (with a little skew allowance),
 * not-before and that the audience includes `sigstore`.
 */
export function checkToken(claims: TokenClaims, now = Date.now()): void {
  const nowS = Math.floor(now / 1000);
  const skew = 30;
  if (typeof claims.exp !== 'number') {
    throw badInput('TOKEN_NO_EXPIRY', 'identity token has no exp claim', tokenHint());
  }
  if (claims.exp + skew <= nowS) {
    const ago = nowS - claims.exp;
    throw badInput(
      'TOKEN_EXPIRED',
      `identity token expired ${formatAgo(ago)} ago (exp ${new Date(claims.exp * 1000).toISOString()})`,
      'request a fresh token from your OIDC provider',
    );
  }
  if (typeof claims.nbf === 'number' && claims.nbf - skew > nowS) {
    throw badInput(
      'TOKEN_NOT_YET_VALID',
      `identity token is not valid before ${new Date(claims.nbf * 1000).toISOString()}`,
    );
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
  if (!aud.includes(SIGSTORE_AUDIENCE)) {
    throw badInput(
      'TOKEN_AUDIENCE',
      `identity token audience ${aud.length ? aud.map((a) => JSON.stringify(a)).join(', ') : '(none)'} does not include "${SIGSTORE_AUDIENCE}"`,
      'request the token with audience "sigstore"',
    );
  }
  if (typeof claims.iss !== 'string' || !claims.iss) {
    throw badInput('TOKEN_NO_ISSUER', 'identity token has no iss claim', tokenHint());
  }
}

/** The identity a human would recognise: email when present, else the subject. */
export function tokenIdentity(claims: TokenClaims): string {
  if (typeof claims.email === 'string' && claims.email) return claims.email;
  return typeof claims.sub === 'string' ? claims.sub : '(unknown subject)';
}

/**
 * Finds the identity token: explicit value, then SIGSTORE_ID_TOKEN, then the GitHub Actions
 * token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, audience sigstore).
 */
export async function resolveIdentityToken(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<IdentityToken> {
  let token: string | undefined;
  let source: TokenSource;
  if (explicit) {
    token = explicit.trim();
    source = 'flag';
  } else if (env.SIGSTORE_ID_TOKEN) {
    token = env.SIGSTORE_ID_TOKEN.trim();
    source = 'env';
  } else if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    token = await fetchGitHubActionsToken(
      env.ACTIONS_ID_TOKEN_REQUEST_URL,
      env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    );
    source = 'github-actions';
  } else {
    throw badInput(
      'NO_SIGNER',
      'no signing identity: give --key, --identity-token, or set SIGSTORE_ID_TOKEN',
      'in GitHub Actions grant `id-token: write` so the workflow token endpoint is available',
    );
  }
  const claims = decodeToken(token);
  checkToken(claims);
  return { token, claims, source };
}

async function fetchGitHubActionsToken(requestUrl: string, requestToken: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw badInput('TOKEN_ENDPOINT', 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  url.searchParams.set('audience', SIGSTORE_AUDIENCE);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { Authorization: `bearer ${requestToken}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw ioFailure(
      'TOKEN_ENDPOINT',
      `cannot reach the GitHub Actions token endpoint ${url.origin}: ${(err as Error).message}`,
      'check the runner network',
      err,
    );
  }
  if (!res.ok) {
    throw ioFailure(
      'TOKEN_ENDPOINT',
      `GitHub Actions token endpoint answered ${res.status}`,
      res.status === 401 || res.status === 403
        ? 'grant the workflow `permissions: id-token: write`'
        : 'retry later',
    );
  }
  const body = (await res.json().catch(() => undefined)) as { value?: unknown } | undefined;
  if (!body || typeof body.value !== 'string' || !body.value) {
    throw ioFailure('TOKEN_ENDPOINT', 'GitHub Actions token endpoint returned no token');
  }
  return body.value;
}

function formatAgo(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

function tokenHint(): string {
  return 'pass an OIDC ID token (JWT) with --identity-token or SIGSTORE_ID_TOKEN';
}
