/**
 * A loopback HTTP proxy in front of a registry (or any HTTP server) that injects faults into
 * chosen requests and records every request. Rules match by method and path regex; each rule
 * fires on matching occurrences `nth` .. `nth + times - 1` (1-based), other requests pass
 * through untouched.
 *
 *   const proxy = await startFaultProxy(registry.host);
 *   proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'status', status: 503 } });
 *   // client talks to proxy.host with plainHttp
 *   expect(proxy.count('GET', /\/blobs\//)).toBe(2);
 *
 * Faults:
 * - `status`: answer with that status (e.g. 429 with `retryAfter`, 500, 503) without contacting upstream.
 * - `reset`: destroy the client connection before answering (ECONNRESET / socket hang up).
 * - `flip`: forward the upstream response but flip one byte of the body (at `offset`, default 0).
 * - `truncate`: forward only the first `keep` bytes of the body with a matching Content-Length,
 *   so the response looks complete but is short (a lying registry).
 * - `cut`: forward the headers and the first `keep` bytes, then drop the connection (a
 *   network failure mid-body).
 * - `redirect`: answer `status` (default 307) with `Location` = `location(path)`.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'reset' }
  | { kind: 'flip'; offset?: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'cut'; keep: number }
  | { kind: 'redirect'; location: (path: string) => string; status?: 301 | 302 | 303 | 307 | 308 };

export interface FaultRule {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Regex tested against the request path with query. */
  path: RegExp;
  /** First matching occurrence to affect, 1-based (default 1). */
  nth?: number;
  /** How many consecutive matching occurrences to affect (default 1; Infinity for all). */
  times?: number;
  fault: Fault;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The client's source port: requests on one keep-alive connection share it. */
  clientPort: number;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
}

export interface FaultProxy {
  /** `127.0.0.1:PORT` — use it as the registry host (plain HTTP). */
  host: string;
  url: string;
  requests: RecordedRequest[];
  addRule(rule: FaultRule): void;
  /** Removes all rules (recorded requests are kept). */
  clearRules(): void;
  /** Number of recorded requests matching method (optional) and path regex (optional). */
  count(method?: string, path?: RegExp): number;
  stop(): Promise<void>;
}

interface LiveRule extends FaultRule {
  seen: number;
}

export async function startFaultProxy(upstreamHost: string): Promise<FaultProxy> {
  const [upHost, upPort] = splitHost(upstreamHost);
  let rules: LiveRule[] = [];
  const requests: RecordedRequest[] = [];

  const pick = (method: string, path: string): Fault | undefined => {
    for (const r of rules) {
      if (r.method && r.method.toUpperCase() !== method) continue;
      if (!r.path.test(path)) continue;
      r.seen++;
      const first = r.nth ?? 1;
      const last = first + (r.times ?? 1) - 1;
      if (r.seen >= first && r.seen <= last) return r.fault;
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const fault = pick(method, path);
    requests.push({
      method,
      path,
      headers: { ...req.headers },
      clientPort: req.socket.remotePort ?? 0,
      ...(fault ? { fault: fault.kind } : {}),
    });
    if (fault?.kind === 'status') {
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      const body =
        fault.body ??
        JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `injected ${fault.status}` }] });
      res.writeHead(fault.status, headers).end(body);
      return;
    }
    if (fault?.kind === 'reset') {
      req.resume();
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'redirect') {
      req.resume();
      res.writeHead(fault.status ?? 307, { location: fault.location(path), 'content-length': '0' }).end();
      return;
    }
    const headers = { ...req.headers, host: upstreamHost };
    const up = http.request({ host: upHost, port: upPort, method, path, headers }, (upRes) => {
      const outHeaders: IncomingHttpHeaders = { ...upRes.headers };
      // Location headers from upstream name upstream: rewrite so the client stays on the proxy.
      if (typeof outHeaders.location === 'string')
        outHeaders.location = outHeaders.location.replace(
          `//${upstreamHost}`,
          `//${server.address() ? hostOf() : upstreamHost}`,
        );
      if (fault?.kind === 'truncate') {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks).subarray(0, fault.keep);
          delete outHeaders['transfer-encoding'];
          outHeaders['content-length'] = String(body.length);
          res.writeHead(upRes.statusCode ?? 502, outHeaders).end(body);
        });
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, outHeaders);
      if (fault?.kind === 'cut') {
        // Headers and the first bytes reach the client before the connection drops.
        res.flushHeaders();
        let sent = 0;
        upRes.on('data', (c: Buffer) => {
          if (sent >= fault.keep) return;
          const part = c.subarray(0, fault.keep - sent);
          sent += part.length;
          const done = sent >= fault.keep;
          res.write(part, () => {
            if (done) setTimeout(() => res.socket?.destroy(), 20);
          });
          if (done) upRes.destroy();
        });
        return;
      }
      if (fault?.kind === 'flip') {
        const at = fault.offset ?? 0;
        let pos = 0;
        upRes.on('data', (c: Buffer) => {
          if (at >= pos && at < pos + c.length) {
            c = Buffer.from(c);
            c[at - pos] = c[at - pos]! ^ 0xff;
          }
          pos += c.length;
          res.write(c);
        });
        upRes.on('end', () => res.end());
        return;
      }
      upRes.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  });
  const hostOf = () => `127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = hostOf();
  return {
    host,
    url: `http://${host}`,
    requests,
    addRule: (rule) => rules.push({ ...rule, seen: 0 }),
    clearRules: () => {
      rules = [];
    },
    count: (method, path) =>
      requests.filter((r) => (!method || r.method === method.toUpperCase()) && (!path || path.test(r.path)))
        .length,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function splitHost(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[|\]$/g, ''), Number(hostPort.slice(i + 1))];
}
