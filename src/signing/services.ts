/**
 * Which Sigstore services a signature goes through: explicit URLs, a Sigstore SigningConfig
 * file (v0.2), or the public-good instance.
 */
import { readFile } from 'node:fs/promises';
import { badInput } from '../errors.js';

export const PUBLIC_GOOD = {
  fulcioUrl: 'https://fulcio.sigstore.dev',
  rekorUrl: 'https://rekor.sigstore.dev',
} as const;

export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

export interface TlogService {
  url: string;
  majorApiVersion: 1 | 2;
}

export interface SigningServices {
  fulcioUrl?: string;
  tlog?: TlogService;
  tsaUrl?: string;
}

interface ServiceEntry {
  url?: unknown;
  majorApiVersion?: unknown;
  validFor?: { start?: unknown; end?: unknown };
}

/** Max API versions vouch speaks: Fulcio v2 (signing-config version 1), Rekor v1 and v2, TSA v1. */
const MAX_VERSION = { ca: 1, tlog: 2, tsa: 1 } as const;

/** Parses a SigningConfig v0.2 document into the services vouch will use. */
export function parseSigningConfig(json: unknown, source: string): SigningServices {
  if (!json || typeof json !== 'object') throw invalid(source, 'not a JSON object');
  const doc = json as Record<string, unknown>;
  if (doc.mediaType !== SIGNING_CONFIG_MEDIA_TYPE) {
    throw invalid(source, `mediaType ${JSON.stringify(doc.mediaType)} is not ${SIGNING_CONFIG_MEDIA_TYPE}`);
  }
  const ca = pick(doc.caUrls, MAX_VERSION.ca, source, 'caUrls');
  const tlog = pick(doc.rekorTlogUrls, MAX_VERSION.tlog, source, 'rekorTlogUrls');
  const tsa = pick(doc.tsaUrls, MAX_VERSION.tsa, source, 'tsaUrls');
  for (const [key, name] of [
    ['rekorTlogConfig', 'rekorTlogConfig'],
    ['tsaConfig', 'tsaConfig'],
  ] as const) {
    const sel = (doc[key] as { selector?: unknown } | undefined)?.selector;
    if (sel !== undefined && sel !== 'ANY') {
      throw invalid(source, `${name}.selector ${JSON.stringify(sel)} is not supported (only ANY)`);
    }
  }
  return {
    fulcioUrl: ca?.url,
    tlog: tlog ? { url: tlog.url, majorApiVersion: tlog.majorApiVersion === 2 ? 2 : 1 } : undefined,
    tsaUrl: tsa?.url,
  };
}

export async function readSigningConfig(file: string): Promise<SigningServices> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(
      'SIGNING_CONFIG',
      `cannot read signing config ${file}: ${(err as Error).message}`,
      undefined,
      err,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(file, 'not valid JSON');
  }
  return parseSigningConfig(json, file);
}

/** The newest currently valid service whose API version vouch speaks. */
function pick(
  list: unknown,
  maxVersion: number,
  source: string,
  field: string,
): { url: string; majorApiVersion: number } | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw invalid(source, `${field} is not a list`);
  const now = Date.now();
  const usable = (list as ServiceEntry[])
    .map((e) => {
      if (typeof e?.url !== 'string' || typeof e.majorApiVersion !== 'number') {
        throw invalid(source, `${field} entry without url/majorApiVersion`);
      }
      checkUrl(e.url, source, field);
      const start = typeof e.validFor?.start === 'string' ? Date.parse(e.validFor.start) : 0;
      const end = typeof e.validFor?.end === 'string' ? Date.parse(e.validFor.end) : Infinity;
      return { url: e.url.replace(/\/+$/, ''), majorApiVersion: e.majorApiVersion, start, end };
    })
    .filter((e) => e.majorApiVersion <= maxVersion && e.start <= now && e.end > now)
    .sort((a, b) => b.start - a.start);
  return usable[0];
}

export function checkUrl(url: string, source: string, what: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(source, `${what} URL ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw invalid(source, `${what} URL must be http(s): ${u.protocol}`);
  }
  if (u.username || u.password) throw invalid(source, `${what} URL must not carry credentials`);
}

function invalid(source: string, why: string) {
  return badInput(
    'SIGNING_CONFIG',
    `invalid signing config ${source}: ${why}`,
    'see the Sigstore SigningConfig v0.2 format',
  );
}
