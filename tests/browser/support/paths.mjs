// Where the suite finds the binary and the browser, and where it writes its output.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target');

/** The built `wxcheckout` (scripts/browser/run builds it and passes its path). */
export const BIN = process.env.BROWSER_SUITE_BIN ?? path.join(TARGET, 'debug', 'wxcheckout');

/** Debian's Chromium; the suite never downloads a browser of its own. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots and server logs: target/browser-output/<scenario>/. */
export const OUTPUT = process.env.BROWSER_SUITE_OUTPUT ?? path.join(TARGET, 'browser-output');

export function outputDir(name) {
  const dir = path.join(OUTPUT, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
