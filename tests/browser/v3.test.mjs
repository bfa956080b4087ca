// The shop on WeChat Pay API v3 (`wxpay.api_version = "v3"`): a buyer pays on every channel
// as on v2 — JSAPI inside WeChat (the pay page hands the bridge RSA-signed parameters), H5
// in a phone browser through the cashier, Native by QR code on a desktop — and the sandbox,
// speaking v3, refuses nothing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { assertPaidCleanly, bridgeSheet, buyNow, cashier, startPaying, waitForHeading } from './support/buyer.mjs';
import { useShop } from './support/server.mjs';

const SCENARIO = 'v3-every-channel';

describe('a shop on API v3', () => {
  const t = useShop(SCENARIO, { WXCHECKOUT_WXPAY__API_VERSION: 'v3' });

  it('takes a JSAPI payment inside WeChat with RSA-signed bridge parameters', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'wechatAndroid');
    const page = await context.newPage();
    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await bridgeSheet(page).waitFor();
    const params = await page.evaluate(() => JSON.parse(document.getElementById('wxpay-jsapi').textContent));
    assert.equal(params.signType, 'RSA', `v3's paySign is RSA: ${JSON.stringify(params)}`);
    assert.match(params.package, /^prepay_id=/);
    await screenshot(page, SCENARIO, 'jsapi-bridge-sheet');
    await bridgeSheet(page).getByRole('button', { name: /确认支付/ }).click();
    await page.waitForURL(new RegExp(`/o/${token}$`));
    await waitForHeading(page, '支付成功');
    await assertPaidCleanly(t.shop, context, token);
  });

  it('takes an H5 payment in a phone browser through the cashier', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'iphone');
    const page = await context.newPage();
    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await cashier(page, 'pay');
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, 'h5-order-paid');
    await assertPaidCleanly(t.shop, context, token);
  });

  it('takes a Native payment by QR code on a desktop, and the QR page moves to paid by itself', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'desktop');
    const page = await context.newPage();
    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await page.getByRole('heading', { name: '请使用微信扫一扫' }).waitFor();
    const [scan] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: '在沙箱中扫码' }).click()]);
    await scan.getByRole('button', { name: /确认支付/ }).click();
    await scan.getByRole('heading', { name: /支付成功/ }).waitFor();
    await scan.close();
    await page.waitForURL(new RegExp(`/o/${token}$`), { timeout: 30_000 });
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, 'native-order-paid');
    await assertPaidCleanly(t.shop, context, token);
  });
});
