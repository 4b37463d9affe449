// Runs node's built-in test runner over the compiled `*.test.js` files. Node 20 has no
// glob support in `--test`, and a bare directory would also run the support modules.
// Usage: node scripts/run-tests.mjs [unit|e2e|all] [--long] [extra node --test args]
// --long: the reliability tests run longer (100 crash cycles, 60 GC rounds, 20,000 fuzz
// requests) unless their variables are already set.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const suite = ['unit', 'e2e', 'all'].includes(args[0] ?? '') ? args.shift() : 'all';
const longIndex = args.indexOf('--long');
if (longIndex >= 0) {
  args.splice(longIndex, 1);
  process.env.BERTH_CRASH_CYCLES ??= '100';
  process.env.BERTH_GC_ROUNDS ??= '60';
  process.env.BERTH_FUZZ_RUNS ??= '20000';
}
const roots = suite === 'all' ? ['dist/test/unit', 'dist/test/e2e'] : [`dist/test/${suite}`];

function testFiles(dir) {
  let files = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) files = files.concat(testFiles(full));
    else if (name.endsWith('.test.js')) files.push(full);
  }
  return files;
}

const files = roots.flatMap((root) => testFiles(root));
const filter = process.env.BERTH_TEST_FILTER;
const selected = filter ? files.filter((f) => f.includes(filter)) : files;
if (selected.length === 0) {
  console.error(`no test files found under ${roots.join(', ')} (did the build run?)`);
  process.exit(1);
}
// A full run starts with an empty log directory: the secrets-hygiene test (last)
// reads every log this run produced.
if (suite === 'all' && !filter) rmSync(process.env.BERTH_TEST_LOG_DIR ?? '.test-logs', { recursive: true, force: true });
// e2e files drive shared daemons and heavy peers: one file at a time keeps CI honest.
const concurrency = suite === 'unit' ? '4' : '1';
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...args, ...selected], { stdio: 'inherit' });
process.exit(result.status ?? 1);
