// The files in deploy/ as an operator installs them, with the site-specific parts (host
// names, paths, secrets) replaced for a test on 127.0.0.1. Every replacement must match:
// a sample that drifts from what its test expects fails the test instead of being used
// half-edited.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from './tools.js';

export const DEPLOY_DIR = path.join(PROJECT_ROOT, 'deploy');

/** deploy/<name> with each `[from, to]` replaced everywhere. */
export async function deployFileWith(name: string, replacements: ReadonlyArray<readonly [string, string]>): Promise<string> {
  let text = await readFile(path.join(DEPLOY_DIR, name), 'utf8');
  for (const [from, to] of replacements) {
    assert.ok(text.includes(from), `deploy/${name} contains ${JSON.stringify(from)}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** The arguments after the executable in a unit's ExecStart= line. */
export async function execStartArgs(unit: string, executable: string): Promise<string[]> {
  const text = await readFile(path.join(DEPLOY_DIR, unit), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(`ExecStart=${executable} `));
  assert.ok(line, `${unit} has ExecStart=${executable} ...`);
  return line.slice(`ExecStart=${executable} `.length).trim().split(/\s+/);
}
