#!/usr/bin/env node
// Entry point of the `sparse-rnn` command (the TypeScript build lives in dist/).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('sparse-rnn: the build is missing (dist/). Run "npm ci" (or "npm run build") in the package folder first.\n');
  process.exit(1);
}
const { main: run } = await import(main.href);
await run(process.argv);
