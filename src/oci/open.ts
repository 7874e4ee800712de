/**
 * One entry point for every store: a reference names either an OCI image layout directory
 * or a repository on a registry, and the caller never needs to know which.
 */
import { openLayout } from './layout.js';
import { openRegistryStore } from './registry.js';
import type { Reference, RegistryOptions, Store } from './types.js';

export async function openStore(ref: Reference, opts: RegistryOptions = {}): Promise<Store> {
  if (ref.kind === 'layout') return openLayout(ref);
  return openRegistryStore(ref, opts);
}
