// Scenario 3: an Android phone inside WeChat pays by JSAPI — OAuth through the sandbox for the
// buyer's openid, then the pay page calls the (sandbox) WeixinJSBridge.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { bridgeSheet, buyNow, startPaying, waitForHeading } from './support/buyer.mjs';
import { useShop } from './support/server.mjs';

const SCENARIO = 'jsapi-android-wechat';

describe('an Android buyer inside WeChat paying by JSAPI', () => {
  const t = useShop(SCENARIO);

  it('goes through OAuth to the JSAPI page, confirms in the bridge and the order is paid', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'wechatAndroid');
    const page = await context.newPage();
    const seen = [];
    page.on('request', (r) => r.isNavigationRequest() && seen.push(new URL(r.url()).pathname));

    const token = await buyNow(page, t.shop.base);
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

    await t.shop.assertStatus(token, 'paid');
    context.watch.assertClean();
    await context.close();
  });

  it('cancels in the bridge, lands on the order page still payable, and pays from there', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'wechatAndroid');
    const page = await context.newPage();

    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await bridgeSheet(page).getByRole('button', { name: /取消/ }).click();
    await page.waitForURL(new RegExp(`/o/${token}$`));
    await waitForHeading(page, '等待支付结果');
    await t.shop.assertStatus(token, 'pending');
    await screenshot(page, SCENARIO, '3b-after-cancel');

    await startPaying(page, true);
    await bridgeSheet(page).getByRole('button', { name: /确认支付/ }).click();
    await waitForHeading(page, '支付成功');

    await t.shop.assertStatus(token, 'paid');
    context.watch.assertClean();
    await context.close();
  });
});
