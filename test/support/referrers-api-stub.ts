/**
 * STUB: a loopback proxy in front of a real registry that adds the OCI referrers API, which
 * Debian's docker-registry (distribution 2.8) lacks. It watches manifest PUTs that pass
 * through it: a manifest with a `subject` is remembered as a referrer of that subject, and
 * the PUT's response gets an `OCI-Subject` header, as a referrers-capable registry does.
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]` answers the OCI index of what it has
 * seen (filtered, with `OCI-Filters-Applied`). Everything else is proxied unchanged.
 * Referrers pushed to the registry directly (not through the stub) are not known to it.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReferrersApiStub {
  /** `127.0.0.1:PORT`; use with plainHttp. */
  host: string;
  url: string;
  /** Number of referrers API requests served. */
  referrersRequests: number;
  stop(): Promise<void>;
}

interface Known {
  repository: string;
  subject: string;
  descriptor: Record<string, unknown>;
}

const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/?]+)$/;
const REFERRERS_PATH = /^\/v2\/(.+)\/referrers\/(sha(?:256|512):[a-f0-9]+)$/;

export async function startReferrersApiStub(upstreamHost: string): Promise<ReferrersApiStub> {
  const i = upstreamHost.lastIndexOf(':');
  const upHost = upstreamHost.slice(0, i);
  const upPort = Number(upstreamHost.slice(i + 1));
  const known: Known[] = [];
  const state = { referrersRequests: 0 };

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer | undefined,
    onDone?: (status: number, headers: http.OutgoingHttpHeaders) => void,
  ) => {
    const headers = { ...req.headers, host: upstreamHost };
    if (body) {
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
    }
    const up = http.request(
      { host: upHost, port: upPort, method: req.method, path: req.url, headers },
      (upRes) => {
        const out: http.OutgoingHttpHeaders = { ...upRes.headers };
        if (typeof out.location === 'string')
          out.location = out.location.replace(`//${upstreamHost}`, `//${hostOf()}`);
        onDone?.(upRes.statusCode ?? 502, out);
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    if (body) up.end(body);
    else req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const ref = REFERRERS_PATH.exec(url.pathname);
    if (req.method === 'GET' && ref) {
      state.referrersRequests++;
      req.resume();
      const [, repository, subject] = ref;
      const filter = url.searchParams.get('artifactType');
      const manifests = known
        .filter(
          (k) =>
            k.repository === repository &&
            k.subject === subject &&
            (!filter || k.descriptor.artifactType === filter),
        )
        .map((k) => k.descriptor);
      const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
      if (filter) headers['oci-filters-applied'] = 'artifactType';
      res.writeHead(200, headers).end(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests,
        }),
      );
      return;
    }
    const man = MANIFEST_PATH.exec(url.pathname);
    if (req.method === 'PUT' && man) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let parsed:
          | {
              subject?: { digest?: string };
              artifactType?: string;
              config?: { mediaType?: string };
              annotations?: Record<string, string>;
              mediaType?: string;
            }
          | undefined;
        try {
          parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
        } catch {
          parsed = undefined;
        }
        const subject = parsed?.subject?.digest;
        forward(req, res, body, (status, headers) => {
          if (status !== 201 || !subject || !parsed) return;
          const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
          const descriptor: Record<string, unknown> = {
            mediaType: parsed.mediaType ?? req.headers['content-type'],
            digest,
            size: body.length,
            artifactType: parsed.artifactType ?? parsed.config?.mediaType,
            ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
          };
          if (
            !known.some(
              (k) => k.repository === man[1] && k.subject === subject && k.descriptor.digest === digest,
            )
          )
            known.push({ repository: man[1]!, subject, descriptor });
          headers['oci-subject'] = subject;
        });
      });
      return;
    }
    if (req.method === 'DELETE' && man) {
      const digest = man[2];
      forward(req, res, undefined, (status) => {
        if (status >= 200 && status < 300) {
          for (let j = known.length - 1; j >= 0; j--)
            if (known[j]!.repository === man[1] && known[j]!.descriptor.digest === digest) known.splice(j, 1);
        }
      });
      return;
    }
    forward(req, res, undefined);
  });
  const hostOf = () => `127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = hostOf();
  return {
    host,
    url: `http://${host}`,
    get referrersRequests() {
      return state.referrersRequests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
