/**
 * HTTP transport for registries: node:http/node:https requests with streamed request and
 * response bodies (never buffered whole), retries with backoff and jitter, manual redirects
 * that drop credentials across hosts, timeouts, and failures mapped to VouchErrors.
 *
 * Why not fetch: with redirect 'follow' it keeps a copy of a streamed request body (see
 * NOTES.md), and it hides the socket errors we need to classify.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { badInput, ioFailure, VouchError } from '../errors.js';
import type { RegistryOptions } from './types.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: string | URL;
  headers?: Record<string, string>;
  /**
   * A Buffer can be replayed on retry; a Readable cannot: a failure while streaming it is
   * final (the caller may restart the whole operation with a fresh stream).
   */
  body?: Buffer | Readable;
  /** Follow redirects (default: GET and HEAD only). */
  followRedirects?: boolean;
  /** Allow retries on 429/5xx/connection errors (default true; never for stream bodies). */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: URL;
  /** The body stream; consume it, or call `discard()`. */
  body: IncomingMessage;
  /** Attempts used (1 = no retry). */
  attempts: number;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);
const MAX_REDIRECTS = 5;
const MAX_RETRY_AFTER_MS = 30_000;
const MAX_BACKOFF_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 60_000;

export class Transport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  // Stream bodies cannot be replayed, so they never ride on a pooled socket that the server
  // may have closed while idle (a reset there would be final): one fresh connection each.
  private readonly freshHttpAgent: http.Agent;
  private readonly freshHttpsAgent: https.Agent;
  readonly plainHttp: boolean;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;

  constructor(opts: RegistryOptions = {}) {
    this.plainHttp = opts.plainHttp === true;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.backoffMs = opts.backoffMs ?? 200;
    this.httpAgent = new http.Agent({ keepAlive: true });
    this.freshHttpAgent = new http.Agent({ keepAlive: false });
    let ca: string[] | undefined;
    if (opts.caFile) {
      let pem: string;
      try {
        pem = readFileSync(opts.caFile, 'utf8');
      } catch (err) {
        throw badInput(
          'BAD_CA_FILE',
          `cannot read CA file ${opts.caFile}: ${(err as Error).message}`,
          'pass a readable PEM file to --registry-ca',
          err,
        );
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        throw badInput(
          'BAD_CA_FILE',
          `CA file ${opts.caFile} holds no PEM certificate`,
          'pass a PEM file with one or more CERTIFICATE blocks to --registry-ca',
        );
      }
      // `ca` replaces Node's roots, so keep the public ones next to the private CA.
      ca = [...tls.rootCertificates, pem];
    }
    this.httpsAgent = new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
    this.freshHttpsAgent = new https.Agent({ keepAlive: false, ...(ca ? { ca } : {}) });
  }

  /** The scheme for registry hosts: https unless the user chose --plain-http (never automatic). */
  get scheme(): 'http' | 'https' {
    return this.plainHttp ? 'http' : 'https';
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.freshHttpAgent.destroy();
    this.freshHttpsAgent.destroy();
  }

  /**
   * Sends a request, retrying retryable failures when the body can be replayed, and following
   * redirects for GET/HEAD. Resolves with any HTTP status once retries are exhausted: status
   * handling belongs to the caller. Rejects with a VouchError on network/TLS failure.
   */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    const mayRetry = req.retry !== false && replayable;
    const attempts = mayRetry ? this.maxAttempts : 1;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.followRedirects(req);
      } catch (err) {
        lastError = err;
        if (attempt < attempts && isRetryableError(err)) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw this.networkError(err, new URL(req.url), attempt);
      }
      res.attempts = attempt;
      if (attempt < attempts && RETRY_STATUS.has(res.status)) {
        const wait = retryAfterMs(res.headers['retry-after']) ?? this.backoff(attempt);
        discard(res.body);
        await sleep(wait);
        continue;
      }
      return res;
    }
    throw this.networkError(lastError, new URL(req.url), attempts);
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (attempt - 1));
    // "Equal jitter": at least half the ceiling, so retries never collapse to zero delay.
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private async followRedirects(req: HttpRequest): Promise<HttpResponse> {
    const origin = new URL(req.url);
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    let url = origin;
    let headers: Record<string, string> = { ...(req.headers ?? {}) };
    for (let hop = 0; ; hop++) {
      const res = await this.once(req.method, url, headers, req.body);
      const location = res.headers.location;
      if (!follow || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || !location) {
        return { status: res.statusCode ?? 0, headers: res.headers, url, body: res, attempts: 1 };
      }
      discard(res);
      if (hop >= MAX_REDIRECTS) {
        throw ioFailure(
          'REGISTRY_REDIRECTS',
          `${origin.host} redirected more than ${MAX_REDIRECTS} times for ${origin.pathname}`,
          'the registry or its storage is misconfigured',
        );
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw ioFailure(
          'REGISTRY_REDIRECT',
          `${origin.host} redirected to an unsupported scheme ${next.protocol}`,
          'the registry is misconfigured',
        );
      }
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        throw ioFailure(
          'REGISTRY_REDIRECT',
          `${origin.host} redirected from https to plain http (${next.host})`,
          'refusing a TLS downgrade; fix the registry storage redirect',
        );
      }
      if (next.host !== origin.host) {
        // Credentials for the registry are never sent to its storage backend or anyone else.
        headers = withoutAuthorization(headers);
      }
      url = next;
    }
  }

  private once(
    method: HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body?: Buffer | Readable,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const isHttps = url.protocol === 'https:';
      const streamed = body !== undefined && !Buffer.isBuffer(body);
      const outHeaders: OutgoingHttpHeaders = { ...headers };
      if (Buffer.isBuffer(body)) outHeaders['content-length'] = String(body.length);
      else if (body === undefined && (method === 'PUT' || method === 'POST' || method === 'PATCH'))
        outHeaders['content-length'] = '0';
      const req = (isHttps ? https : http).request(url, {
        method,
        headers: outHeaders,
        agent: streamed
          ? isHttps
            ? this.freshHttpsAgent
            : this.freshHttpAgent
          : isHttps
            ? this.httpsAgent
            : this.httpAgent,
        timeout: this.timeoutMs,
      });
      req.on('timeout', () => {
        const e = new Error(`no activity for ${this.timeoutMs} ms`) as NodeJS.ErrnoException;
        e.code = 'ETIMEDOUT';
        req.destroy(e);
      });
      req.on('error', reject);
      req.on('response', resolve);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  private networkError(err: unknown, url: URL, attempts: number): VouchError {
    if (err instanceof VouchError) return err;
    const e = err as NodeJS.ErrnoException;
    const code = e?.code ?? '';
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    if (
      url.protocol === 'https:' &&
      (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))
    ) {
      return ioFailure(
        'REGISTRY_TLS',
        `TLS connection to ${url.host} failed: ${tlsReason(e.message)} (${code})`,
        this.plainHttp ? 'check the registry certificate' : 'use --registry-ca FILE or --plain-http',
        err,
      );
    }
    if (code === 'ETIMEDOUT') {
      return ioFailure(
        'REGISTRY_TIMEOUT',
        `${url.host} did not respond: ${e.message}${tries}`,
        'check that the registry is up, or raise the timeout',
        err,
      );
    }
    return ioFailure(
      'REGISTRY_UNREACHABLE',
      `cannot reach ${url.host}: ${code || e?.message || String(err)}${tries}`,
      'check the registry address and that it is up',
      err,
    );
  }
}

/** OpenSSL messages carry an error stack; keep the reason and say what it usually means. */
function tlsReason(message: string): string {
  const m = /error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+)/.exec(message);
  const reason = m ? m[1]!.trim() : message.split('\n')[0]!;
  if (/wrong version number|packet length too long|http request/i.test(reason)) {
    return `${reason} (the server does not seem to speak TLS)`;
  }
  return reason;
}

function isRetryableError(err: unknown): boolean {
  if (err instanceof VouchError) return false;
  const e = err as NodeJS.ErrnoException;
  if (e?.code && RETRY_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && /socket hang up/i.test(e.message);
}

/** Parses Retry-After (delta seconds or HTTP-date) into ms, capped; undefined when absent or invalid. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const trimmed = v.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'authorization') out[k] = v;
  return out;
}

/** Reads a response body up to `limit` bytes; more → an error naming `what`. */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    discard(res);
    throw ioFailure(
      'TOO_LARGE',
      `${what} is ${declared} bytes, over the ${limit}-byte limit`,
      'the registry sent more than vouch accepts for this kind of content',
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        res.destroy();
        throw ioFailure(
          'TOO_LARGE',
          `${what} exceeds the ${limit}-byte limit`,
          'the registry sent more than vouch accepts for this kind of content',
        );
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof VouchError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw ioFailure(
      'REGISTRY_UNREACHABLE',
      `connection lost while reading ${what}: ${e.code ?? e.message}`,
      'retry; check the network and the registry',
      err,
    );
  }
  return Buffer.concat(chunks);
}

/** Drops a response body without reading it into memory. */
export function discard(res: IncomingMessage): void {
  res.on('error', () => {});
  res.resume();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
