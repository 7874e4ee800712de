#!/usr/bin/env node
// Writes oclif.manifest.json after a build, so that `vouch --help` and command lookup read one
// JSON file instead of importing every command module (and their dependencies) at start-up.
import { Config } from '@oclif/core';
import { writeFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const path = join(root, 'oclif.manifest.json');
rmSync(path, { force: true }); // never derive the manifest from a stale one
const config = await Config.load({ root });
const plugin = config.plugins.get(config.pjson.name);
if (!plugin?.manifest || Object.keys(plugin.manifest.commands).length === 0) {
  console.error('manifest: no commands found; did the TypeScript build run?');
  process.exit(1);
}
writeFileSync(path, JSON.stringify(plugin.manifest, null, 2) + '\n');
