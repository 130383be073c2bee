#!/usr/bin/env node
// Runs the pinned pnpm without corepack: corepack's registry-signature check and pnpm's own
// version switching both fail on locked-down machines, while `npx pnpm@X` only needs the registry.
import { pnpm } from './lib/tools.mjs';

process.exit(await pnpm(process.argv.slice(2)));
