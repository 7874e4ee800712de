/** Types for scripts/mklayout.mjs, so TypeScript tests can share the fixture. */
export declare function writeLayoutImage(
  dir: string,
  tag: string,
  opts?: { layerBytes?: number; single?: boolean },
): string;
