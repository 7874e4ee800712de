/**
 * Registry authentication: credentials from Docker's config.json (auths, credsStore,
 * credHelpers) or explicit options, chosen by exact canonical host; WWW-Authenticate
 * challenges; Basic and Bearer (token service) schemes with a token cache per host and scope.
 *
 * Secrets never appear in messages: errors name the host and the status, never a token,
 * password or credentialed URL.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { badInput, ioFailure, type VouchError } from '../errors.js';
import { DOCKER_HUB } from './reference.js';
import { discard, readBody, type Transport } from './transport.js';
import type { RegistryOptions } from './types.js';

export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  /** An identity (refresh) token from `docker login` with an OAuth2 registry. */
  | { kind: 'identityToken'; token: string };

export interface Challenge {
  /** Lowercase scheme, e.g. `bearer`, `basic`. */
  scheme: string;
  params: Record<string, string>;
}

const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const HELPER_TIMEOUT_MS = 30_000;
const TOKEN_MAX_BYTES = 1 << 20;

/**
 * Canonical host of a config.json key or registry name: scheme and path stripped, lowercased,
 * Docker Hub's aliases folded into `docker.io`. Keys are compared exactly after this, never by
 * substring or prefix.
 */
export function canonicalRegistryHost(key: string): string {
  let s = key.trim();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  s = s.toLowerCase();
  return HUB_ALIASES.has(s) ? DOCKER_HUB : s;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export function dockerConfigDir(opts: RegistryOptions): string {
  return opts.dockerConfigDir ?? process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
}

async function loadDockerConfig(dir: string): Promise<DockerConfig | undefined> {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw badInput(
      'DOCKER_CONFIG',
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      'check DOCKER_CONFIG and file permissions',
      err,
    );
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as DockerConfig;
  } catch (err) {
    // The parser's message may quote file content (a password): keep it out.
    throw badInput('DOCKER_CONFIG', `${file} is not valid JSON`, 'fix or remove the Docker config file', err);
  }
}

function lookupByHost<T>(map: Record<string, T> | undefined, host: string): T | undefined {
  if (!map || typeof map !== 'object') return undefined;
  // Prefer an exact key, then any key whose canonical host is exactly `host`.
  if (Object.hasOwn(map, host)) return map[host];
  for (const key of Object.keys(map)) if (canonicalRegistryHost(key) === host) return map[key];
  return undefined;
}

function fromAuthEntry(
  entry: NonNullable<DockerConfig['auths']>[string],
  host: string,
  file: string,
): Credentials | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken)
    return { kind: 'identityToken', token: entry.identitytoken };
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0)
      throw badInput(
        'DOCKER_CONFIG',
        `the auth entry for ${host} in ${file} is not base64 of user:password`,
        'run docker login again or fix the entry',
      );
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username) {
    return { kind: 'basic', username: entry.username, password: entry.password };
  }
  return undefined;
}

/** The server URL a credential helper is asked about (Docker Hub keeps its legacy key). */
function helperServerUrl(host: string): string {
  return host === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : host;
}

/** Runs `docker-credential-NAME get`; undefined when the helper has no credentials for the host. */
export async function runCredentialHelper(name: string, host: string): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw badInput(
      'DOCKER_CONFIG',
      `invalid credential helper name "${name}"`,
      'fix credsStore/credHelpers in the Docker config',
    );
  const bin = `docker-credential-${name}`;
  const { code, stdout, spawnError } = await new Promise<{
    code: number | null;
    stdout: string;
    spawnError?: NodeJS.ErrnoException;
  }>((resolve) => {
    const child = spawn(bin, ['get'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < TOKEN_MAX_BYTES) out += d;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: '', spawnError: err });
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(helperServerUrl(host) + '\n');
  });
  if (spawnError) {
    throw badInput(
      'CREDENTIAL_HELPER',
      `credential helper ${bin} could not be run (${spawnError.code ?? 'error'})`,
      `install ${bin} on PATH or remove it from the Docker config`,
      spawnError,
    );
  }
  if (code !== 0) {
    if (/credentials not found/i.test(stdout)) return undefined;
    throw ioFailure(
      'CREDENTIAL_HELPER',
      `credential helper ${bin} failed for ${host} (exit ${code})`,
      `check ${bin} (e.g. run: echo ${helperServerUrl(host)} | ${bin} get)`,
    );
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch (err) {
    throw ioFailure(
      'CREDENTIAL_HELPER',
      `credential helper ${bin} returned invalid JSON for ${host}`,
      `check ${bin}`,
      err,
    );
  }
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  const secret = typeof parsed.Secret === 'string' ? parsed.Secret : '';
  if (!secret) return undefined;
  if (username === '<token>') return { kind: 'identityToken', token: secret };
  return { kind: 'basic', username, password: secret };
}

/**
 * The credentials for `registry` (a canonical host such as `docker.io` or `127.0.0.1:5000`):
 * explicit options first, then credHelpers[host], then credsStore, then auths[host].
 */
export async function resolveCredentials(
  registry: string,
  opts: RegistryOptions,
): Promise<Credentials | undefined> {
  if (opts.username !== undefined || opts.password !== undefined) {
    if (!opts.username || opts.password === undefined) {
      throw badInput(
        'BAD_CREDENTIALS',
        'a registry username needs a password and vice versa',
        'pass both --registry-username and --registry-password-stdin',
      );
    }
    return { kind: 'basic', username: opts.username, password: opts.password };
  }
  const host = canonicalRegistryHost(registry);
  const dir = dockerConfigDir(opts);
  const config = await loadDockerConfig(dir);
  if (!config) return undefined;
  const helper = lookupByHost(config.credHelpers, host);
  if (typeof helper === 'string' && helper) return runCredentialHelper(helper, host);
  if (typeof config.credsStore === 'string' && config.credsStore) {
    const fromStore = await runCredentialHelper(config.credsStore, host);
    if (fromStore) return fromStore;
  }
  return fromAuthEntry(
    lookupByHost(config.auths, host) as NonNullable<DockerConfig['auths']>[string],
    host,
    path.join(dir, 'config.json'),
  );
}

/**
 * Parses a WWW-Authenticate header into challenges (RFC 7235: several challenges, quoted
 * strings with escapes, commas inside quotes).
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  let i = 0;
  const n = text.length;
  const skipWs = () => {
    while (i < n && /[\s,]/.test(text[i]!)) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (i >= n) break;
    const save = i;
    const token = readToken();
    if (!token) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && text[j] === ' ') j++;
    if (text[j] === '=' && current) {
      // key=value of the current challenge
      i = j + 1;
      while (i < n && text[i] === ' ') i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          value += text[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && text[i] !== ',' && !/\s/.test(text[i]!)) i++;
        value = text.slice(start, i);
      }
      current.params[token.toLowerCase()] = value;
    } else if (text[j] === '=' && !current) {
      i = save + token.length + 1;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
      // token68 (e.g. `Negotiate abc==`) is not used by registries: skip it.
    }
  }
  return out;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

export interface AuthContext {
  /** The canonical registry name (credentials are looked up for it). */
  registry: string;
  /** The API host that asked (host:port). */
  host: string;
}

/**
 * Per-invocation authenticator: remembers each host's challenge, resolves credentials once per
 * host, and caches bearer tokens per (host, scopes) until they expire.
 */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly creds = new Map<string, Promise<Credentials | undefined>>();

  constructor(
    private readonly transport: Transport,
    private readonly opts: RegistryOptions,
  ) {}

  credentials(registry: string): Promise<Credentials | undefined> {
    let p = this.creds.get(registry);
    if (!p) {
      p = resolveCredentials(registry, this.opts);
      this.creds.set(registry, p);
    }
    return p;
  }

  /** The Authorization header to send to `ctx.host` for `scopes`, if the host is known to need one. */
  async authorization(ctx: AuthContext, scopes: string[]): Promise<string | undefined> {
    const challenge = this.challenges.get(ctx.host);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const c = await this.credentials(ctx.registry);
      return c ? basicHeader(c) : undefined;
    }
    if (challenge.scheme === 'bearer') {
      const cached = this.tokens.get(tokenKey(ctx.host, scopes));
      if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.value}`;
      return `Bearer ${await this.fetchToken(ctx, challenge, scopes)}`;
    }
    return undefined;
  }

  /**
   * Records a 401 challenge and prepares credentials for a retry. Returns false when there is
   * nothing new to try (no usable challenge, or Basic without credentials).
   */
  async onChallenge(
    ctx: AuthContext,
    header: string | string[] | undefined,
    scopes: string[],
  ): Promise<boolean> {
    const challenges = parseChallenges(header);
    const challenge =
      challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) return false;
    const previous = this.challenges.get(ctx.host);
    this.challenges.set(ctx.host, challenge);
    if (challenge.scheme === 'basic') {
      if (previous?.scheme === 'basic') return false; // the credentials were already refused
      return (await this.credentials(ctx.registry)) !== undefined;
    }
    // A fresh token for these scopes; the caller retries once and fails on a second 401.
    this.tokens.delete(tokenKey(ctx.host, scopes));
    await this.fetchToken(ctx, challenge, scopes);
    return true;
  }

  private async fetchToken(ctx: AuthContext, challenge: Challenge, scopes: string[]): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw authError(ctx.host, 401, 'the registry sent a Bearer challenge without a realm', false);
    let url: URL;
    try {
      url = new URL(realm);
    } catch (err) {
      throw ioFailure(
        'REGISTRY_AUTH',
        `${ctx.host} sent an invalid token realm`,
        'the registry is misconfigured',
        err,
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw ioFailure(
        'REGISTRY_AUTH',
        `${ctx.host} sent a token realm with scheme ${url.protocol}`,
        'the registry is misconfigured',
      );
    const creds = await this.credentials(ctx.registry);
    // Credentials go to the realm the registry names (that is the token protocol), but never
    // in clear text unless the user accepted plain HTTP for this invocation.
    if (creds && url.protocol === 'http:' && !this.opts.plainHttp) {
      throw ioFailure(
        'REGISTRY_AUTH',
        `${ctx.host} asks for credentials at a plain-http token realm (${url.host})`,
        'refusing to send credentials unencrypted; use --plain-http only on a trusted network',
      );
    }
    const service = challenge.params.service;
    const headers: Record<string, string> = { accept: 'application/json' };
    let res;
    if (creds?.kind === 'identityToken') {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.token,
        client_id: 'vouch',
      });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.transport.request({
        method: 'POST',
        url,
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        followRedirects: false,
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds) headers.authorization = basicHeader(creds);
      res = await this.transport.request({ method: 'GET', url, headers, followRedirects: false });
    }
    if (res.status !== 200) {
      discard(res.body);
      throw authError(ctx.host, res.status, `the token service at ${url.host} refused`, creds !== undefined);
    }
    const body = await readBody(res.body, TOKEN_MAX_BYTES, `token response from ${url.host}`);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch (err) {
      throw ioFailure(
        'REGISTRY_AUTH',
        `the token service at ${url.host} returned invalid JSON`,
        'the registry auth service is misconfigured',
        err,
      );
    }
    const token =
      typeof parsed.token === 'string' && parsed.token
        ? parsed.token
        : typeof parsed.access_token === 'string'
          ? parsed.access_token
          : '';
    if (!token)
      throw ioFailure(
        'REGISTRY_AUTH',
        `the token service at ${url.host} returned no token`,
        'the registry auth service is misconfigured',
      );
    const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    // Renew a little early so a token never expires between the check and the request.
    this.tokens.set(tokenKey(ctx.host, scopes), {
      value: token,
      expiresAt: Date.now() + Math.max(1, expiresIn - 10) * 1000,
    });
    return token;
  }

  /** True when credentials (explicit or from the Docker config) exist for `registry`. */
  async hasCredentials(registry: string): Promise<boolean> {
    return (await this.credentials(registry)) !== undefined;
  }
}

function tokenKey(host: string, scopes: string[]): string {
  return `${host} ${[...scopes].sort().join(' ')}`;
}

function basicHeader(c: Credentials): string {
  const [user, pass] = c.kind === 'basic' ? [c.username, c.password] : ['<token>', c.token];
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** REGISTRY_AUTH failure: says which host and status, and what to do, never which secret. */
export function authError(
  host: string,
  status: number,
  detail: string | undefined,
  hadCredentials: boolean,
): VouchError {
  return ioFailure(
    'REGISTRY_AUTH',
    `authentication to ${host} failed (${status})${detail ? `: ${detail}` : ''}`,
    hadCredentials
      ? `check the credentials for ${host} (--registry-username/--registry-password-stdin or the Docker config)`
      : `log in (docker login ${host}) or pass --registry-username and --registry-password-stdin`,
  );
}

/** Scope strings of the distribution token protocol. */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push' | 'delete' | '*'): string {
  return `repository:${repository}:${actions}`;
}
