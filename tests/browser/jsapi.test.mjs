// Scenario 3: an Android phone inside WeChat pays by JSAPI — OAuth through the sandbox for the
// buyer's openid, then the pay page calls the (sandbox) WeixinJSBridge.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { buyerContext, launch, screenshot } from './support/browser.mjs';
import { buyNow, startPaying, waitForHeading } from './support/buyer.mjs';
import { startShop } from './support/server.mjs';

const SCENARIO = 'jsapi-android-wechat';

/** The sandbox bridge's payment sheet, over the JSAPI pay page. */
function bridgeSheet(page) {
  return page.getByRole('dialog', { name: /微信支付/ });
}

describe('an Android buyer inside WeChat paying by JSAPI', () => {
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

  it('goes through OAuth to the JSAPI page, confirms in the bridge and the order is paid', async () => {
    const context = await buyerContext(browser, shop.base, 'wechatAndroid');
    const page = await context.newPage();
    const seen = [];
    page.on('request', (r) => r.isNavigationRequest() && seen.push(new URL(r.url()).pathname));

    const token = await buyNow(page, shop.base);
    await startPaying(page);
    await bridgeSheet(page).waitFor();
    assert.ok(seen.includes('/sandbox/connect/oauth2/authorize'), `went through OAuth: ${seen.join(' → ')}`);
    assert.ok(seen.includes(`/pay/${token}/oauth`), `came back from OAuth: ${seen.join(' → ')}`);
    assert.match(page.url(), new RegExp(`/pay/${token}`));
    await screenshot(page, SCENARIO, '3-jsapi-bridge-sheet');

    await bridgeSheet(page).getByRole('button', { name: /确认支付/ }).click();
    await page.waitForURL(new RegExp(`/o/${token}$`));
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, '3-order-paid');

    assert.equal((await shop.status(token)).status, 'paid');
    context.watch.assertClean();
    await context.close();
  });

  it('cancels in the bridge, lands on the order page still payable, and pays from there', async () => {
    const context = await buyerContext(browser, shop.base, 'wechatAndroid');
    const page = await context.newPage();

    const token = await buyNow(page, shop.base);
    await startPaying(page);
    await bridgeSheet(page).getByRole('button', { name: /取消/ }).click();
    await page.waitForURL(new RegExp(`/o/${token}$`));
    await waitForHeading(page, '等待支付结果');
    assert.equal((await shop.status(token)).status, 'pending');
    await screenshot(page, SCENARIO, '3b-after-cancel');

    await startPaying(page, true);
    await bridgeSheet(page).getByRole('button', { name: /确认支付/ }).click();
    await waitForHeading(page, '支付成功');

    assert.equal((await shop.status(token)).status, 'paid');
    context.watch.assertClean();
    await context.close();
  });
});
