// The quality gates every buyer page must pass, measured in the browser:
// - the bytes it transfers on a first visit (cache disabled), under 100 KB;
// - axe-core (from npm, injected into the page) finds no serious or critical violation;
// - every tap target (link, button, field) is at least 44 × 44 CSS px.
// Console errors and requests off the shop's origin are caught by the context's Watch.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const MAX_BYTES = 100 * 1024;
export const MIN_TAP = 44;

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Counts the bytes a page transfers (headers and encoded bodies, as on the wire) with the
 * browser cache off, so each visit is a buyer's first. Counting starts again at every
 * document request whose URL matches `at`: the page under test is the last one.
 */
export async function meter(page, at) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const m = {
    bytes: 0,
    files: new Map(),
    urls: new Map(),
    /** How many times the page under test started loading: 0 means `at` never matched. */
    starts: 0,
    reset() {
      this.starts += 1;
      this.bytes = 0;
      this.files.clear();
    },
  };
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.type === 'Document' && at.test(e.request.url)) m.reset();
    m.urls.set(e.requestId, e.request.url);
  });
  cdp.on('Network.loadingFinished', (e) => {
    m.bytes += e.encodedDataLength;
    m.files.set(m.urls.get(e.requestId) ?? e.requestId, e.encodedDataLength);
  });
  return m;
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE_SOURCE);
  }
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    }),
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Visible tap targets smaller than 44 × 44 CSS px, described (a checkbox counts with its label). */
export async function smallTapTargets(page) {
  return page.evaluate((min) => {
    const selector = [
      'a[href]',
      'button',
      'input:not([type=hidden])',
      'select',
      'textarea',
      'summary',
      '[role=button]',
      '[tabindex]:not([tabindex="-1"])',
    ].join(',');
    const small = [];
    for (const el of document.querySelectorAll(selector)) {
      const style = getComputedStyle(el);
      // why: a checkbox or radio button is tapped through its label, which is its target.
      const label =
        el.matches('input[type=checkbox], input[type=radio]') &&
        (el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`)));
      if (style.visibility === 'hidden') continue;
      // why each box: an inline link wrapped over two lines is two small targets, though
      // its bounding box together is tall enough.
      for (const r of (label || el).getClientRects()) {
        if (r.width === 0 || r.height === 0) continue;
        if (r.width < min || r.height < min) {
          const text = (el.textContent || el.getAttribute('aria-label') || el.getAttribute('name') || '').trim();
          small.push(`<${el.tagName.toLowerCase()}> "${text.slice(0, 40)}" is ${r.width.toFixed(0)}×${r.height.toFixed(0)}`);
        }
      }
    }
    return small;
  }, MIN_TAP);
}

/** All the gates at once, for a page that has finished loading; `m` is its meter. */
export async function assertGates(page, m, what) {
  await page.waitForLoadState('networkidle');
  const files = [...m.files].map(([u, n]) => `${u} ${n}`).join('\n');
  assert.ok(m.starts > 0 && m.bytes > 0, `${what}: the page under test was never loaded`);
  assert.ok(m.bytes < MAX_BYTES, `${what}: ${m.bytes} bytes transferred (limit ${MAX_BYTES}):\n${files}`);
  assert.deepEqual(await axeViolations(page), [], `${what}: axe-core violations`);
  assert.deepEqual(await smallTapTargets(page), [], `${what}: tap targets under ${MIN_TAP} px`);
  return m.bytes;
}
