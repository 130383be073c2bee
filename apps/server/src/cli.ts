#!/usr/bin/env node
/**
 * `postern` command line (the package's `bin`). Each command has `--help`; bad arguments exit
 * with code 2 and one line on stderr. The commands live in `cli/`.
 */
import { readFileSync } from 'node:fs';
import { runCli } from './cli/run.js';

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: Date.now,
  readFile: (path) => readFileSync(path),
});
// Success leaves the exit code alone: `serve` keeps running, and sets its own on failure.
if (code !== 0) process.exitCode = code;
