// Headless Chromium from Debian (/usr/bin/chromium, `apt-get install chromium`) driven by
// playwright-core: nothing is downloaded at test time. Playwright gives every launch a
// fresh --user-data-dir of its own (it refuses the flag in `args`) and removes it on close.
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Without the background-networking flags Chromium keeps dialling Google on this closed network. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`test peer "chromium" is not installed at ${CHROMIUM}; run: bash scripts/install-test-deps.sh`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 60_000 });
}
