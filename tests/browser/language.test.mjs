// Scenario 7: buyer pages speak English to a browser that asks for it (Accept-Language), and
// Chinese to everyone else.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { buyerContext, launch, screenshot } from './support/browser.mjs';
import { buyNow } from './support/buyer.mjs';
import { startShop } from './support/server.mjs';

const SCENARIO = 'language';
const CJK = /[\u3400-\u9fff]/;

/** The words of the page's own controls and headings; the merchant's product names aside. */
async function interfaceWords(page, productNames) {
  const words = await page.evaluate(() =>
    [...document.querySelectorAll('h1, h2, button, label, legend, a.button, .status, th')]
      .filter((el) => !el.closest('.product-link') && el.getClientRects().length > 0)
      .map((el) => el.textContent.trim())
      .filter(Boolean),
  );
  return words.filter((w) => !productNames.includes(w));
}

describe('the language of the buyer pages', () => {
  let shop;
  let browser;

  before(async () => {
    shop = await startShop(SCENARIO);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  it('is English from the shop to the pay page for a browser that asks for English', async () => {
    const context = await buyerContext(browser, shop.base, 'iphone', { locale: 'en-US' });
    const page = await context.newPage();
    const token = await buyNow(page, shop.base);
    await page.goto(`${shop.base}/`);
    const productNames = (await page.locator('.product-name').allTextContents()).map((n) => n.trim());
    assert.ok(productNames.length > 0, 'the shop lists its products');
    const pages = [`/`, `/p/oolong-tea`, `/cart`, `/o/${token}`];
    for (const path of pages) {
      await page.goto(`${shop.base}${path}`);
      assert.equal(await page.getAttribute('html', 'lang'), 'en', `${path} is marked as English`);
      const words = await interfaceWords(page, productNames);
      assert.ok(words.length > 0, `${path} has headings or controls`);
      assert.deepEqual(words.filter((w) => CJK.test(w)), [], `${path} has Chinese interface words`);
    }
    await page.getByRole('heading', { name: 'Waiting for the payment' }).waitFor();
    await page.getByRole('button', { name: 'I have paid' }).waitFor();
    await screenshot(page, SCENARIO, '7-order-in-english');

    await page.getByRole('link', { name: 'Pay now' }).click();
    await page.getByRole('button', { name: /Pay/ }).first().waitFor();
    assert.match(page.url(), /\/checkmweb\?/, 'went on to the cashier');
    context.watch.assertClean();
    await context.close();
  });

  it('is Chinese by default, for a browser that asks for neither Chinese nor English', async () => {
    for (const locale of ['fr-FR', 'zh-CN']) {
      const context = await buyerContext(browser, shop.base, 'iphone', { locale });
      const page = await context.newPage();
      await page.goto(`${shop.base}/p/oolong-tea`);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', `${locale}: marked as Chinese`);
      await page.getByRole('button', { name: '立即购买' }).waitFor();
      await page.getByRole('button', { name: '加入购物车' }).waitFor();
      await page.getByRole('button', { name: '立即购买' }).click();
      await page.getByRole('heading', { name: '等待支付结果' }).waitFor();
      await screenshot(page, SCENARIO, `7-order-for-${locale}`);
      context.watch.assertClean();
      await context.close();
    }
  });
});
