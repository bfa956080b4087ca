// The shop under test: the built `wxcheckout` binary, started as its own process in sandbox
// mode (its "WeChat" is the sandbox inside it, under /sandbox/), on a free loopback port with
// a fresh data directory. Its log goes to the test output, next to the screenshots.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { before, after } from 'node:test';

import { launch } from './browser.mjs';
import { BIN, outputDir } from './paths.mjs';

export const ADMIN_PASSWORD = 'browser-suite-password';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function healthy(base, child) {
  for (let i = 0; i < 200; i += 1) {
    if (child.exitCode !== null) return false;
    try {
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) });
      // why the mode: another server that grabbed the port between our probe and the bind
      // must not pass for ours.
      if (r.ok && (await r.json()).mode === 'sandbox') return true;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return false;
}

/** This process's environment without any WXCHECKOUT_* setting: the test decides those. */
function ownEnvironment() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WXCHECKOUT_')));
}

/**
 * For a `describe` block: starts a shop (see `startShop`) and a browser before its tests and
 * stops both after them. Returns a holder whose `shop` and `browser` are set by then.
 */
export function useShop(name, env = {}) {
  const held = { shop: null, browser: null };
  before(async () => {
    held.shop = await startShop(name, env);
    held.browser = await launch();
  });
  after(async () => {
    await held.browser?.close();
    await held.shop?.stop();
  });
  return held;
}

/**
 * Starts `wxcheckout serve` (sandbox mode). `env` adds settings, e.g.
 * `{ WXCHECKOUT_SANDBOX__TIME_SCALE: '0.05' }`. Call `stop()` when done.
 */
export async function startShop(name, env = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'wxcheckout-browser-'));
  const log = createWriteStream(path.join(outputDir(name), 'server.log'));
  for (let tries = 0; tries < 5; tries += 1) {
    const port = await freePort();
    const child = spawn(BIN, ['serve', '--port', String(port)], {
      env: {
        ...ownEnvironment(),
        WXCHECKOUT_DATA_DIR: dataDir,
        WXCHECKOUT_ADMIN__PASSWORD: ADMIN_PASSWORD,
        RUST_LOG: 'warn,wxcheckout=info',
        ...env,
      },
      // why cwd: a wxcheckout.toml lying in the working directory must not configure the test.
      cwd: dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const base = `http://127.0.0.1:${port}`;
    if (await healthy(base, child)) {
      return new Shop(base, child, dataDir, log);
    }
    child.kill('SIGKILL');
  }
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise((resolve) => log.end(resolve));
  const said = readFileSync(path.join(outputDir(name), 'server.log'), 'utf8').slice(-2000);
  throw new Error(`wxcheckout serve (${BIN}) did not start; it said:\n${said}`);
}

class Shop {
  constructor(base, child, dataDir, log) {
    this.base = base;
    this.child = child;
    this.dataDir = dataDir;
    this.log = log;
  }

  /** The sandbox's fault settings, changed at run time (POST /sandbox/control, JSON). */
  async faults(changes) {
    const r = await fetch(`${this.base}/sandbox/control`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(changes),
    });
    if (!r.ok) throw new Error(`sandbox control refused ${JSON.stringify(changes)}: ${await r.text()}`);
    return r.json();
  }

  /**
   * Fails if the sandbox refused anything by WeChat's registration rules (the JSAPI payment
   * directory, OAuth and H5 domains, the payer's network): the shop must pass them all.
   */
  async assertSandboxRefusedNothing() {
    const home = await (await fetch(`${this.base}/sandbox/`)).text();
    assert.ok(!home.includes('id="refusals"'), `the sandbox refused requests:\n${home.slice(home.indexOf('refusals-title'), home.indexOf('orders-title'))}`);
  }

  /** Fails unless our own record says order `token` is `status` (paid, pending, …). */
  async assertStatus(token, status) {
    assert.equal((await this.status(token)).status, status, `order ${token}`);
  }

  /** Our own record of an order, as the buyer's page reads it (GET /o/<token>/status). */
  async status(token) {
    const r = await fetch(`${this.base}/o/${token}/status`, { headers: { Accept: 'application/json' } });
    if (!r.ok) throw new Error(`status of ${token}: HTTP ${r.status}`);
    return r.json();
  }

  async stop() {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!stopped) {
        this.child.kill('SIGKILL');
        await exited;
      }
    }
    await new Promise((resolve) => this.log.end(resolve));
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A new pending order for one unit of `product`, placed over HTTP as the shop's own form
 * would post it (for tests that need an order as a starting point). Returns its token.
 */
export async function placeOrder(shop, product = 'oolong-tea') {
  const r = await fetch(`${shop.base}/checkout`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: shop.base },
    body: new URLSearchParams({ product, qty: '1' }),
    redirect: 'manual',
  });
  const to = r.headers.get('location') ?? '';
  const m = to.match(/^\/o\/([^/?]+)$/);
  if (r.status !== 303 || !m) throw new Error(`checkout answered ${r.status} ${to}: ${await r.text()}`);
  return m[1];
}
