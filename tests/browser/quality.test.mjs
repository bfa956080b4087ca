// Scenario 8: every buyer page, in Chinese and in English, on the device that sees it, passes
// the quality gates: no console error, no request off the shop's origin, under 100 KB
// transferred on a first visit, no serious or critical axe-core violation, tap targets ≥ 44 px.
// The sandbox's own buyer-facing pages (cashier, scan) are held to the same gates.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { payByH5 } from './support/buyer.mjs';
import { assertGates, meter } from './support/gates.mjs';
import { close, refund, signIn } from './support/merchant.mjs';
import { placeOrder, useShop } from './support/server.mjs';

const SCENARIO = 'quality-gates';

/** The shop and browser of this file (see `useShop` below), and its orders by state. */
let t;
const orders = {};

/** Pays `token` as an iPhone buyer would (H5, sandbox cashier) and waits for the receipt. */
async function pay(token) {
  const context = await buyerContext(t.browser, t.shop.base, 'iphone');
  const page = await context.newPage();
  await page.goto(`${t.shop.base}/o/${token}`);
  await payByH5(page);
  await context.close();
}

/**
 * The pages. `go` brings `page` to the page under test; the meter starts counting at the
 * document request whose URL matches `at` (the buyer's first visit of that page). `shows` is
 * the page's main heading (Chinese or English) and `status` its HTTP status when not 200: a
 * test that measured some other page instead would fail there.
 */
const PAGES = [
  { name: 'shop front', shows: /全部商品|All products/, profile: 'iphone', at: /\/$/, go: (p) => p.goto(`${t.shop.base}/`) },
  { name: 'product', shows: /乌龙|oolong/, profile: 'iphone', at: /\/p\//, go: (p) => p.goto(`${t.shop.base}/p/oolong-tea`) },
  { name: 'empty cart', shows: /购物车|cart/i, profile: 'iphone', at: /\/cart$/, go: (p) => p.goto(`${t.shop.base}/cart`) },
  {
    name: 'cart with a line', shows: /购物车|cart/i,
    profile: 'iphone',
    at: /\/cart\/add$/,
    go: async (p) => {
      await p.goto(`${t.shop.base}/p/almond-cookies`);
      await p.getByRole('button', { name: /加入购物车|Add to cart/ }).click();
      await p.waitForURL(/\/cart$/);
    },
  },
  {
    name: 'checkout refused (a quantity of 0 from a browser without form validation)', shows: /请修改后再试|Please fix this and try again/,
    profile: 'iphone',
    status: 422,
    at: /\/checkout$/,
    go: async (p) => {
      await p.goto(`${t.shop.base}/p/oolong-tea`);
      await p.evaluate(() => {
        document.querySelector('form.buy').noValidate = true;
        document.getElementById('qty').value = '0';
      });
      await p.getByRole('button', { name: /立即购买|Buy now/ }).click();
      await p.waitForLoadState();
    },
  },
  { name: 'unknown order', shows: /页面不存在|不存在|not found/i, profile: 'iphone', status: 404, at: /\/o\//, go: (p) => p.goto(`${t.shop.base}/o/AAAAAAAAAAAAAAAAAAAAAA`) },
  {
    name: 'order waiting for payment', shows: /等待支付结果|Waiting for the payment/,
    profile: 'iphone',
    at: /\/o\//,
    go: async (p) => p.goto(`${t.shop.base}/o/${await placeOrder(t.shop)}`),
  },
  {
    name: 'order after 已完成支付 with no payment seen', shows: /等待支付结果|Waiting for the payment/,
    profile: 'iphone',
    at: /\/check$/,
    go: async (p) => {
      await p.goto(`${t.shop.base}/o/${await placeOrder(t.shop)}`);
      await p.getByRole('button', { name: /已完成支付|I have paid/ }).click();
      await p.waitForURL(/checked=/);
    },
  },
  { name: 'paid order (receipt)', shows: /支付成功|Paid/, profile: 'iphone', at: /\/o\//, go: (p) => p.goto(`${t.shop.base}/o/${orders.paid}`) },
  { name: 'partially refunded order', shows: /已部分退款|Partially refunded/, profile: 'iphone', at: /\/o\//, go: (p) => p.goto(`${t.shop.base}/o/${orders.partial}`) },
  { name: 'refunded order', shows: /已退款|Refunded/, profile: 'iphone', at: /\/o\//, go: (p) => p.goto(`${t.shop.base}/o/${orders.refunded}`) },
  { name: 'closed order', shows: /订单已关闭|This order is closed/, profile: 'iphone', at: /\/o\//, go: (p) => p.goto(`${t.shop.base}/o/${orders.closed}`) },
  {
    name: 'H5 pay page (the hand-off to the cashier held back)', shows: /^(微信支付|WeChat Pay)$/,
    profile: 'iphone',
    at: /\/pay\//,
    go: async (p) => {
      // why: the page moves on to the cashier at once; answering that navigation with 204
      // keeps the browser on our page so that it can be examined.
      await p.route(/\/checkmweb\?/, (route) => route.fulfill({ status: 204 }));
      await p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`, { waitUntil: 'commit' });
      await p.getByRole('link', { name: /继续支付|Continue to WeChat Pay/ }).waitFor();
    },
  },
  {
    name: 'sandbox H5 cashier', shows: /微信支付 \/ WeChat Pay/,
    profile: 'iphone',
    at: /\/checkmweb\?/,
    go: async (p) => {
      await p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`);
      await p.waitForURL(/\/checkmweb\?/);
    },
  },
  {
    name: 'JSAPI pay page with the WeChat pay sheet open', shows: /^(微信支付|WeChat Pay)$/,
    profile: 'wechatAndroid',
    at: /\/pay\//,
    go: async (p) => {
      await p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`);
      await p.getByRole('dialog').waitFor();
    },
  },
  {
    name: 'Native QR pay page', shows: /请使用微信扫一扫|Scan with WeChat/,
    profile: 'desktop',
    at: /\/pay\//,
    go: async (p) => p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`),
  },
  {
    name: 'sandbox scan page for a QR code', shows: /微信支付 \/ WeChat Pay/,
    profile: 'desktop',
    at: /\/sandbox\/scan\?/,
    go: async (p) => {
      await p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`);
      await p.goto(await p.locator('#sandbox-scan').getAttribute('href', { timeout: 5_000 }).then((h) => new URL(h, t.shop.base).href));
    },
  },
  {
    name: 'open-in-WeChat page (WeCom)', shows: /请在微信中打开此链接|Open this link in WeChat/,
    profile: 'wecom',
    at: /\/pay\//,
    go: async (p) => p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`),
  },
  {
    name: 'pay problem page (WeChat Pay unavailable)', shows: /暂时无法支付|Payment unavailable/,
    profile: 'desktop',
    status: 503,
    at: /\/pay\//,
    faults: { system_error_rate: 1.0 },
    go: async (p) => p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`),
  },
];

describe('quality gates on every buyer page', () => {
  // why 0.05: sandbox refunds settle in half a second; nothing here waits on the reconciler.
  t = useShop(SCENARIO, { WXCHECKOUT_SANDBOX__TIME_SCALE: '0.05' });

  before(async () => {
    orders.paid = await placeOrder(t.shop);
    orders.partial = await placeOrder(t.shop);
    orders.refunded = await placeOrder(t.shop);
    orders.closed = await placeOrder(t.shop);
    for (const o of [orders.paid, orders.partial, orders.refunded]) await pay(o);
    const admin = await t.browser.newContext({ locale: 'zh-CN' });
    const page = await admin.newPage();
    await signIn(page, t.shop.base);
    const no = async (token) => (await t.shop.status(token)).order_no;
    await refund(page, t.shop.base, await no(orders.partial), '10.00', '部分退款');
    const total = ((await t.shop.status(orders.refunded)).total_fen / 100).toFixed(2);
    await refund(page, t.shop.base, await no(orders.refunded), total, '已退款');
    await close(page, t.shop.base, await no(orders.closed));
    await admin.close();
  });

  for (const lang of ['zh-CN', 'en-US']) {
    for (const p of PAGES) {
      it(`the ${p.name} page passes them in ${lang === 'zh-CN' ? 'Chinese' : 'English'} on ${p.profile}`, async () => {
        if (p.faults) await t.shop.faults(p.faults);
        const context = await buyerContext(t.browser, t.shop.base, p.profile, { locale: lang });
        if (p.status) context.watch.allowDocumentStatus(p.status);
        try {
          const page = await context.newPage();
          const m = await meter(page, p.at);
          await p.go(page);
          assert.equal(context.watch.statusOf(page), p.status ?? 200, `${p.name}: the HTTP status`);
          await page.getByRole('heading', { level: 1, name: p.shows }).first().waitFor({ timeout: 5_000 });
          const bytes = await assertGates(page, m, `${p.name} (${lang})`);
          const file = `${p.name.replace(/[^a-zA-Z0-9]+/g, '-').replace(/-$/, '')}-${lang}`;
          await screenshot(page, SCENARIO, file);
          context.watch.assertClean();
          process.stdout.write(`# ${p.name} (${lang}): ${bytes} bytes\n`);
        } finally {
          if (p.faults) await t.shop.faults({ system_error_rate: 0 });
          await context.close();
        }
      });
    }
  }

  it('the order states used above are what the pages were meant to show', async () => {
    assert.equal((await t.shop.status(orders.paid)).status, 'paid');
    assert.equal((await t.shop.status(orders.partial)).status, 'partially_refunded');
    assert.equal((await t.shop.status(orders.refunded)).status, 'refunded');
    assert.equal((await t.shop.status(orders.closed)).status, 'closed');
  });
});
