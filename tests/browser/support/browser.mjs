// Debian's Chromium, driven by playwright-core, with the phones and desktops buyers use.
//
// Every context is watched: a console error, an uncaught exception, a request that leaves the
// shop's own origin or a failed request is recorded, and `assertClean()` fails the test on any.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { chromium, devices } from 'playwright-core';

import { CHROMIUM, outputDir } from './paths.mjs';

// The flags this machine needs (DEVELOPERS.md); playwright adds --headless and a fresh,
// temporary --user-data-dir of its own to every launch.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // why: two browsers with full-page screenshots outgrow a container's 64 MB /dev/shm.
  '--disable-dev-shm-usage',
];

export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: run scripts/browser/run, which installs Debian's chromium`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

const WECHAT_ANDROID_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Version/4.0 Chrome/122.0.6261.120 Mobile Safari/537.36 XWEB/1220099 MMWEBSDK/20240404 MMWEBID/2307 ' +
  'MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64';

const WECOM_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
  'Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light';

/** The buyers and the merchant of the scenarios: viewport, touch and User-Agent. */
export const PROFILES = {
  iphone: { ...devices['iPhone 13'] },
  wechatAndroid: { ...devices['Pixel 7'], userAgent: WECHAT_ANDROID_UA },
  wecom: { ...devices['iPhone 13'], userAgent: WECOM_UA },
  desktop: { ...devices['Desktop Chrome'] },
  android: { ...devices['Pixel 7'] },
};

/**
 * A new browser context for `profile`, Chinese unless `locale` says otherwise, watched as
 * described above. `origin` is the shop's: everything else is off limits.
 */
export async function buyerContext(browser, origin, profile, { locale = 'zh-CN', ...options } = {}) {
  const { defaultBrowserType: _ignored, ...device } = PROFILES[profile];
  const context = await browser.newContext({ ...device, locale, ...options });
  const watch = new Watch(origin);
  context.on('page', (page) => watch.attach(page));
  context.watch = watch;
  return context;
}

class Watch {
  constructor(origin) {
    this.origin = origin;
    this.problems = [];
    this.requests = [];
    // Pages answered with an error status on purpose (a 404, the admin's 401 sign-in page):
    // Chromium logs "Failed to load resource" for them, which is then not a problem.
    this.allowed = new Set();
    this.documents = new Map();
    this.shown = new Map();
  }

  /** The HTTP status of the document `page` shows now (after any redirects). */
  statusOf(page) {
    return this.shown.get(page);
  }

  /** The test expects pages answered with `status` (e.g. 404 for an unknown order). */
  allowDocumentStatus(status) {
    this.allowed.add(status);
  }

  expectedError(message) {
    const m = message.text().match(/^Failed to load resource: the server responded with a status of (\d{3})/);
    const url = message.location().url;
    return Boolean(m) && this.allowed.has(Number(m[1])) && this.documents.get(url) === Number(m[1]);
  }

  attach(page) {
    page.on('response', (r) => {
      if (!r.request().isNavigationRequest()) return;
      this.documents.set(r.url(), r.status());
      // why not 204 or 3xx: the browser stays on the page (204) or moves on (redirect).
      const shows = r.status() !== 204 && (r.status() < 300 || r.status() >= 400);
      if (r.frame() === page.mainFrame() && shows) this.shown.set(page, r.status());
    });
    page.on('console', (m) => {
      if (m.type() === 'error' && !this.expectedError(m)) {
        this.problems.push(`console error on ${page.url()}: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => this.problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
    page.on('request', (r) => {
      this.requests.push(r.url());
      const u = new URL(r.url());
      if (!['data:', 'blob:', 'about:'].includes(u.protocol) && u.origin !== this.origin) {
        this.problems.push(`request off the shop's origin from ${page.url()}: ${r.url()}`);
      }
    });
    page.on('requestfailed', (r) => {
      const why = r.failure()?.errorText ?? '';
      // why: a poll or a sub-resource cut short by the page moving on is not a failure.
      if (why !== 'net::ERR_ABORTED') this.problems.push(`request failed (${why}): ${r.url()}`);
    });
    page.on('dialog', (d) => {
      this.problems.push(`unexpected ${d.type()} dialog on ${page.url()}: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
  }

  /** How many requests so far went to URLs containing `part`. */
  count(part) {
    return this.requests.filter((u) => u.includes(part)).length;
  }

  assertClean() {
    assert.deepEqual(this.problems, [], 'the browser saw problems');
  }
}

/** A full-page screenshot under target/browser-output/<scenario>/<name>.png; returns its path. */
export async function screenshot(page, scenario, name) {
  const file = path.join(outputDir(scenario), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
