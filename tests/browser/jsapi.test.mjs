// Scenario 3: an Android phone inside WeChat pays by JSAPI — OAuth through the sandbox for the
// buyer's openid, then the pay page calls the (sandbox) WeixinJSBridge.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { assertPaidCleanly, bridgeSheet, buyNow, startPaying, waitForHeading } from './support/buyer.mjs';
import { useShop } from './support/server.mjs';

const SCENARIO = 'jsapi-android-wechat';

describe('an Android buyer inside WeChat paying by JSAPI', () => {
  const t = useShop(SCENARIO);

  it('pays on the very first visit: OAuth, back to /pay/<token>, the bridge, paid — with no second tap', async () => {
    // A fresh browser profile: no openid cookie, so this is a new WeChat buyer's first payment.
    const context = await buyerContext(t.browser, t.shop.base, 'wechatAndroid');
    const page = await context.newPage();
    const seen = [];
    page.on('request', (r) => r.isNavigationRequest() && seen.push(new URL(r.url()).pathname));

    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await bridgeSheet(page).waitFor();
    const trail = seen.join(' → ');
    const oauth = seen.indexOf('/sandbox/connect/oauth2/authorize');
    assert.ok(oauth >= 0, `went through OAuth: ${trail}`);
    assert.deepEqual(seen.slice(oauth + 1), [`/pay/${token}/oauth`, `/pay/${token}`], `back from OAuth to the pay page: ${trail}`);
    // why exactly: WeChat lets only pages directly in the registered /pay/ directory pay.
    assert.equal(new URL(page.url()).pathname, `/pay/${token}`);
    await screenshot(page, SCENARIO, '3-jsapi-bridge-sheet');

    await bridgeSheet(page).getByRole('button', { name: /确认支付/ }).click();
    await page.waitForURL(new RegExp(`/o/${token}$`));
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, '3-order-paid');

    await assertPaidCleanly(t.shop, context, token);
  });

  it('reloads the JSAPI page after OAuth and still pays from it, without a second OAuth', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'wechatAndroid');
    const page = await context.newPage();
    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await bridgeSheet(page).waitFor();
    const authorizations = context.watch.count('/sandbox/connect/oauth2/authorize');
    assert.equal(authorizations, 1);
    // The buyer reloads the pay page with WeChat's sheet open: the same page, the sheet again.
    await page.reload();
    assert.equal(new URL(page.url()).pathname, `/pay/${token}`);
    await bridgeSheet(page).getByRole('button', { name: /确认支付/ }).click();
    await waitForHeading(page, '支付成功');
    assert.equal(context.watch.count('/sandbox/connect/oauth2/authorize'), authorizations, 'no second OAuth');
    await assertPaidCleanly(t.shop, context, token);
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
