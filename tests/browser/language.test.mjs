// Scenario 7: buyer pages speak English to a browser that asks for it (Accept-Language), and
// Chinese to everyone else.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { buyNow } from './support/buyer.mjs';
import { placeOrder, useShop } from './support/server.mjs';

const SCENARIO = 'language';
const CJK = /[\u3400-\u9fff]+/g;

/**
 * The Chinese left in the page's visible text once the merchant's own words (product names
 * and descriptions, which are whatever the merchant typed) are taken out.
 */
async function chineseLeft(page, productNames) {
  return page.evaluate(
    ({ names, cjk }) => {
      let text = document.body.innerText;
      const merchant = [...names, ...[...document.querySelectorAll('.description')].map((d) => d.innerText)];
      for (const words of merchant) text = text.split(words).join(' ');
      return text.match(new RegExp(cjk, 'g')) ?? [];
    },
    { names: productNames, cjk: CJK.source },
  );
}

describe('the language of the buyer pages', () => {
  const t = useShop(SCENARIO);

  it('is English on every buyer page, pay pages included, for a browser that asks for English', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'iphone', { locale: 'en-US' });
    const page = await context.newPage();
    const token = await buyNow(page, t.shop.base);
    await page.goto(`${t.shop.base}/`);
    const productNames = (await page.locator('.product-name').allTextContents()).map((n) => n.trim());
    assert.ok(productNames.length > 0, 'the shop lists its products');

    for (const path of ['/', '/p/oolong-tea', '/cart', `/o/${token}`]) {
      await page.goto(`${t.shop.base}${path}`);
      assert.equal(await page.getAttribute('html', 'lang'), 'en', `${path} is marked as English`);
      assert.deepEqual(await chineseLeft(page, productNames), [], `${path} has Chinese words of its own`);
    }
    await page.getByRole('heading', { name: 'Waiting for the payment' }).waitFor();
    await page.getByRole('button', { name: 'I have paid' }).waitFor();
    await screenshot(page, SCENARIO, '7-order-in-english');
    context.watch.assertClean();
    await context.close();

    // The pay pages, on the devices that get them.
    for (const [profile, heading] of [
      ['desktop', 'Scan with WeChat'],
      ['wecom', 'Open this link in WeChat'],
      ['iphone', 'WeChat Pay'],
    ]) {
      const payer = await buyerContext(t.browser, t.shop.base, profile, { locale: 'en-US' });
      const p = await payer.newPage();
      // why: the H5 page moves on to the cashier at once; a 204 keeps the browser on it.
      await p.route(/\/checkmweb\?/, (route) => route.fulfill({ status: 204 }));
      await p.goto(`${t.shop.base}/pay/${await placeOrder(t.shop)}`, { waitUntil: 'commit' });
      await p.getByRole('heading', { level: 1, name: heading }).waitFor();
      assert.equal(await p.getAttribute('html', 'lang'), 'en');
      assert.deepEqual(await chineseLeft(p, productNames), [], `the ${profile} pay page has Chinese words of its own`);
      payer.watch.assertClean();
      await payer.close();
    }
  });

  it('is Chinese by default, for a browser that asks for neither Chinese nor English', async () => {
    for (const locale of ['fr-FR', 'zh-CN']) {
      const context = await buyerContext(t.browser, t.shop.base, 'iphone', { locale });
      const page = await context.newPage();
      await page.goto(`${t.shop.base}/p/oolong-tea`);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', `${locale}: marked as Chinese`);
      await page.getByRole('button', { name: '加入购物车' }).waitFor();
      await page.getByRole('button', { name: '立即购买' }).click();
      await page.getByRole('heading', { name: '等待支付结果' }).waitFor();
      await screenshot(page, SCENARIO, `7-order-for-${locale}`);
      context.watch.assertClean();
      await context.close();
    }
  });
});
