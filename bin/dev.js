#!/usr/bin/env node
// Runs the compiled commands after a fresh `tsc` build; kept for oclif's conventions.
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
