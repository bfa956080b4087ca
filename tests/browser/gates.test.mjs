// The gates themselves: a deliberately bad page, served on loopback by this test, must fail
// every one of them — otherwise a passing quality suite would prove nothing.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { buyerContext, launch } from './support/browser.mjs';
import { MAX_BYTES, assertGates, axeViolations, meter, smallTapTargets } from './support/gates.mjs';

const BAD_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bad</title></head><body>
<p style="color:#bbb;background:#fff">Pale text nobody can read</p>
<a href="/elsewhere" style="font-size:10px">tiny</a>
<img src="http://127.0.0.2:9/pixel.png" alt="">
<script>console.error('something broke')</script>
<!-- ${'x'.repeat(MAX_BYTES)} -->
</body></html>`;

describe('the quality gates', () => {
  let server;
  let origin;
  let browser;

  before(async () => {
    server = http.createServer((req, res) => {
      const status = { '/missing': 404, '/gone': 410 }[req.url] ?? 200;
      res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(status === 200 ? BAD_PAGE : '<!doctype html><title>error</title><p>error</p>');
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${server.address().port}`;
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  it('catch a console error, a request off the origin, low contrast, a small tap target and a heavy page', async () => {
    const context = await buyerContext(browser, origin, 'iphone');
    const page = await context.newPage();
    const m = await meter(page, /\/bad$/);
    await page.goto(`${origin}/bad`);
    await page.waitForLoadState('networkidle');

    const problems = context.watch.problems.join('\n');
    assert.match(problems, /console error .*something broke/);
    assert.match(problems, /request off the shop's origin .*127\.0\.0\.2:9\/pixel\.png/);
    assert.ok(m.bytes > MAX_BYTES, `the meter counted ${m.bytes} bytes`);
    assert.ok((await axeViolations(page)).some((v) => v.includes('color-contrast')), 'axe sees the pale text');
    assert.ok((await smallTapTargets(page)).some((t) => t.includes('"tiny"')), 'the tiny link is too small');
    await assert.rejects(assertGates(page, m, 'the bad page'), /bytes transferred/);
    assert.throws(() => context.watch.assertClean());
    await context.close();
  });

  it('fail a page whose meter never saw it load, and forgive only the error status a test expects', async () => {
    const context = await buyerContext(browser, origin, 'iphone');
    const page = await context.newPage();
    const m = await meter(page, /\/never-visited$/);
    await page.goto(`${origin}/bad`);
    await assert.rejects(assertGates(page, m, 'unmeasured'), /never loaded/);

    const watch = context.watch;
    watch.problems.length = 0;
    watch.allowDocumentStatus(404);
    await page.goto(`${origin}/missing`);
    await page.goto(`${origin}/gone`);
    const problems = watch.problems.filter((p) => p.includes('status of'));
    assert.equal(problems.length, 1, `only the 410 is a problem: ${problems.join('; ')}`);
    assert.match(problems[0], /status of 410/);
    await context.close();
  });
});
