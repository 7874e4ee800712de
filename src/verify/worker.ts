/**
 * worker_threads entry for verifyBundles: keyless verification is CPU-bound pure-JS ASN.1 work
 * (~15–19 ms a bundle), so bulk verification spreads it over cores. Each worker keeps one
 * TrustOptions (sent once in workerData) so its parsed trust material is cached across bundles.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { preloadVerifier, verifyBundle, type TrustOptions } from './bundle.js';
import type { WorkRequest, WorkResponse } from './pool.js';

const trust = (workerData as { trust: TrustOptions }).trust;
// Overlaps library loading and root parsing with the pool sending the first bundles.
void preloadVerifier(trust.trustedRoot).catch(() => undefined);

parentPort?.on('message', (req: WorkRequest) => {
  verifyBundle(req.bundle, req.artifact, trust, { source: req.source, bytes: req.bytes })
    .then((result) => parentPort!.postMessage({ id: req.id, result } satisfies WorkResponse))
    .catch((err: unknown) => {
      const e = err as NodeJS.ErrnoException;
      const error = { message: e?.message ?? String(err), code: e?.code, path: e?.path, name: e?.name };
      parentPort!.postMessage({ id: req.id, error } satisfies WorkResponse);
    });
});
