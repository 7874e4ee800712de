/**
 * Bulk verification. Keyless bundles cost ~15–19 ms each on one core (certificate chains and
 * RFC 3161 tokens are parsed in pure JS), so they are spread over worker_threads; keyed bundles
 * (~0.3 ms) are verified in-process, where a worker round trip would cost more than it saves.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { verifyBundle, type ArtifactInput, type TrustOptions, type VerifiedBundle } from './bundle.js';

export interface BundleItem {
  bundle: unknown;
  artifact: ArtifactInput;
  source?: string;
  /** The bundle's bytes as read (for the report digest). */
  bytes?: Buffer;
}

/** @internal messages between the pool and its workers. */
export interface WorkRequest extends BundleItem {
  id: number;
}
/** @internal */
export interface WorkResponse {
  id: number;
  result?: VerifiedBundle;
  error?: { message: string; code?: string; path?: string; name?: string };
}

/** Below this many keyless bundles, starting workers (~100 ms each) costs more than it saves. */
const MIN_PARALLEL = 8;
/** Requests kept in flight per worker so it never waits for the next message. */
const PIPELINE = 2;

/**
 * Verifies many bundles with one trust; results come back in input order. Like verifyBundle, a
 * bad bundle yields a failed report and only I/O or programming errors throw.
 */
export interface VerifyBundlesOptions {
  /** Worker threads for keyless bundles; default: the number of cores. 1 = all in-process. */
  concurrency?: number;
  /** Filled in with how the work was spread (for tests and benchmarks). */
  stats?: { workers: number; inWorkers: number };
}

export async function verifyBundles(
  items: BundleItem[],
  trust: TrustOptions,
  opts: VerifyBundlesOptions = {},
): Promise<VerifiedBundle[]> {
  const results: VerifiedBundle[] = new Array(items.length);
  const parallel: number[] = [];
  const local: number[] = [];
  items.forEach((it, i) => (isKeyless(it.bundle) ? parallel : local).push(i));
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? os.availableParallelism()));
  const script = workerScript();
  const workers =
    script && parallel.length >= MIN_PARALLEL && concurrency > 1
      ? Math.min(concurrency, Math.ceil(parallel.length / MIN_PARALLEL))
      : 0;
  if (workers === 0) local.push(...parallel.splice(0));
  if (opts.stats) Object.assign(opts.stats, { workers, inWorkers: parallel.length });
  const inWorkers = parallel.length
    ? runInWorkers(script!, workers, items, parallel, trust, results)
    : Promise.resolve();
  // Keyed bundles meanwhile run here (their cost is negligible next to the keyless ones).
  const inProcess = (async () => {
    for (const i of local.sort((a, b) => a - b)) {
      const it = items[i]!;
      results[i] = await verifyBundle(it.bundle, it.artifact, trust, { source: it.source, bytes: it.bytes });
    }
  })();
  const settled = await Promise.allSettled([inWorkers, inProcess]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return results;
}

function isKeyless(bundle: unknown): boolean {
  const vm = (bundle as { verificationMaterial?: Record<string, unknown> } | null)?.verificationMaterial;
  return (
    !!vm && typeof vm === 'object' && (vm.certificate !== undefined || vm.x509CertificateChain !== undefined)
  );
}

/** The compiled worker next to this module; from TypeScript sources (tests), the built copy in dist/. */
function workerScript(): URL | undefined {
  const sibling = new URL('./worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts') && existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/src/verify/worker.js', import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : undefined;
}

async function runInWorkers(
  script: URL,
  count: number,
  items: BundleItem[],
  indices: number[],
  trust: TrustOptions,
  results: VerifiedBundle[],
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const run = (worker: Worker) =>
    new Promise<void>((resolve) => {
      let inFlight = 0;
      const send = () => {
        while (failure === undefined && inFlight < PIPELINE && next < indices.length) {
          const i = indices[next++]!;
          const it = items[i]!;
          inFlight++;
          const req: WorkRequest = {
            id: i,
            bundle: it.bundle,
            artifact: it.artifact,
            source: it.source,
            bytes: it.bytes,
          };
          worker.postMessage(req);
        }
        if (inFlight === 0) resolve();
      };
      worker.on('message', (res: WorkResponse) => {
        inFlight--;
        if (res.result) results[res.id] = res.result;
        else failure ??= revive(res.error);
        send();
      });
      // A worker that cannot start or dies takes no verdict with it: what it left undone is
      // verified in-process below.
      worker.on('error', () => resolve());
      worker.on('exit', () => resolve());
      send();
    });
  let pool: Worker[] = [];
  try {
    for (let i = 0; i < count; i++) pool.push(new Worker(script, { workerData: { trust } }));
  } catch {
    // e.g. trust that cannot be cloned to a thread: verify everything here instead.
    await Promise.all(pool.map((w) => w.terminate()));
    pool = [];
  }
  try {
    await Promise.all(pool.map(run));
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  if (failure !== undefined) throw failure;
  for (const i of indices) {
    if (results[i] !== undefined) continue;
    const it = items[i]!;
    results[i] = await verifyBundle(it.bundle, it.artifact, trust, { source: it.source, bytes: it.bytes });
  }
}

/** Rebuilds a worker's error so that toVouchError maps it the same way as an in-process one. */
function revive(e: WorkResponse['error']): Error {
  if (!e) return new Error('verification worker failed');
  const err = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code) err.code = e.code;
  if (e.path) err.path = e.path;
  return err;
}
