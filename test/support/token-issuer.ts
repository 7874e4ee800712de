/**
 * A token service for the distribution registry's `auth.token` mode: a loopback node:http
 * server issuing RS256 JWTs whose `x5c` certificate chains to the registry's rootcertbundle,
 * granting the requested scopes to a known user (checked with Basic auth, or a refresh token
 * in the OAuth2 POST flow). It records every token request so tests can assert scopes.
 */
import { createSign, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { issueLeaf, makeTestCa, type TestCa } from './pki.js';

export interface TokenRequest {
  method: string;
  service?: string;
  /** Scopes in request order, e.g. `repository:dst:pull,push`. */
  scopes: string[];
  /** The Basic user, when credentials were sent. */
  user?: string;
  grantType?: string;
  /** Whether the request carried an Authorization header at all. */
  hadAuthorization: boolean;
  status: number;
}

export interface TokenIssuer {
  /** Realm URL, e.g. http://127.0.0.1:PORT/token */
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle the registry trusts (the issuer's CA). */
  rootCertFile: string;
  ca: TestCa;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export interface TokenIssuerOptions {
  username: string;
  password: string;
  /** A refresh (identity) token accepted in the OAuth2 POST flow. */
  identityToken?: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  service?: string;
  ca?: TestCa;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export async function startTokenIssuer(opts: TokenIssuerOptions): Promise<TokenIssuer> {
  const ca = opts.ca ?? makeTestCa('vouch test token CA');
  const signer = issueLeaf(ca, 'token-signer', 'signing');
  const service = opts.service ?? 'vouch-test-registry';
  const issuer = 'vouch-test-issuer';
  const requests: TokenRequest[] = [];

  const mint = (scopes: string[], user: string | undefined): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = user
      ? scopes.map((s) => {
          const first = s.indexOf(':');
          const last = s.lastIndexOf(':');
          return {
            type: s.slice(0, first),
            name: s.slice(first + 1, last),
            actions: s
              .slice(last + 1)
              .split(',')
              .filter(Boolean),
          };
        })
      : [];
    const header = { alg: 'RS256', typ: 'JWT', x5c: [signer.derBase64] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + (opts.expiresIn ?? 300),
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(signer.keyPem);
    return `${input}.${b64url(sig)}`;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const record: TokenRequest = {
        method: req.method ?? '',
        scopes: [],
        hadAuthorization: req.headers.authorization !== undefined,
        status: 0,
      };
      let user: string | undefined;
      let ok = true;
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        record.grantType = form.get('grant_type') ?? undefined;
        record.service = form.get('service') ?? undefined;
        record.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        if (
          record.grantType === 'refresh_token' &&
          opts.identityToken &&
          form.get('refresh_token') === opts.identityToken
        )
          user = opts.username;
        else if (
          record.grantType === 'password' &&
          form.get('username') === opts.username &&
          form.get('password') === opts.password
        )
          user = opts.username;
        else ok = false;
      } else {
        record.service = url.searchParams.get('service') ?? undefined;
        record.scopes = url.searchParams.getAll('scope');
        const authz = req.headers.authorization;
        if (authz) {
          const m = /^Basic (.+)$/.exec(authz);
          const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
          const colon = decoded.indexOf(':');
          if (
            colon > 0 &&
            decoded.slice(0, colon) === opts.username &&
            decoded.slice(colon + 1) === opts.password
          )
            user = opts.username;
          else ok = false;
        }
      }
      record.user = user;
      if (!ok) {
        record.status = 401;
        requests.push(record);
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      record.status = 200;
      requests.push(record);
      const token = mint(record.scopes, user);
      const body: Record<string, unknown> = {
        token,
        access_token: token,
        expires_in: opts.expiresIn ?? 300,
        issued_at: new Date().toISOString(),
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertFile: ca.certFile,
    ca,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
