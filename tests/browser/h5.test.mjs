// Scenarios 1 and 2: an iPhone in Safari pays by H5 (MWEB) through the sandbox cashier.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { assertPaidCleanly, buyNow, cashier, startPaying, waitForHeading } from './support/buyer.mjs';
import { useShop } from './support/server.mjs';

const SCENARIO = 'h5-iphone-safari';

/** Waits (up to 30 s) until the page has asked for the order's status `n` more times. */
async function untilPolled(page, watch, token, n) {
  const target = watch.count(`/o/${token}/status`) + n;
  for (let i = 0; i < 300 && watch.count(`/o/${token}/status`) < target; i += 1) await page.waitForTimeout(100);
  assert.ok(watch.count(`/o/${token}/status`) >= target, 'the order page polls our status');
}

describe('an iPhone buyer in Safari paying by H5', () => {
  // why real time (time_scale 1): the reconciler then waits its full minute before it asks
  // WeChat, so with notifications dropped only the buyer's "已完成支付" can find the payment.
  const t = useShop(SCENARIO);

  it('pays in the sandbox cashier and the order page shows paid by itself', async () => {
    // why the delay: the buyer must be back on the order page before the notification lands,
    // so that only the page's own polling can show the payment.
    await t.shop.faults({ notify_drop_first: 0, notify_delay_ms: 4_000 });
    const context = await buyerContext(t.browser, t.shop.base, 'iphone');
    const page = await context.newPage();

    const token = await buyNow(page, t.shop.base);
    await screenshot(page, SCENARIO, '1-order-pending');
    await startPaying(page);
    await cashier(page, 'pay');
    await waitForHeading(page, '等待支付结果');
    await screenshot(page, SCENARIO, '1-back-from-the-cashier');
    // The buyer does nothing here: the page polls our own record until the notification lands.
    await waitForHeading(page, '支付成功');
    assert.ok(context.watch.count(`/o/${token}/status`) > 0, 'the page found out by polling');
    await screenshot(page, SCENARIO, '1-order-paid');

    await t.shop.assertStatus(token, 'paid');
    context.watch.assertClean();
    await context.close();
  });

  it('with notifications dropped shows not seen yet until the buyer taps 已完成支付, then paid', async () => {
    await t.shop.faults({ notify_drop_first: 16, notify_delay_ms: 0 });
    const context = await buyerContext(t.browser, t.shop.base, 'iphone');
    const page = await context.newPage();

    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await cashier(page, 'pay');
    await waitForHeading(page, '等待支付结果');
    // The page keeps asking our record and it keeps saying "not seen yet".
    await untilPolled(page, context.watch, token, 2);
    await waitForHeading(page, '等待支付结果', 1_000);
    await t.shop.assertStatus(token, 'pending');
    await screenshot(page, SCENARIO, '1b-order-not-seen-yet');

    await page.getByRole('button', { name: '已完成支付' }).click();
    await waitForHeading(page, '支付成功');
    // The check asked WeChat (orderquery) and found the payment: the answer is the receipt.
    assert.equal(context.watch.count(`/o/${token}/check`), 1);
    assert.equal(page.url(), `${t.shop.base}/o/${token}`);
    await screenshot(page, SCENARIO, '1b-order-paid-after-check');

    await t.shop.assertStatus(token, 'paid');
    context.watch.assertClean();
    await context.close();
  });

  it('cancels in the cashier, is offered 重新支付 on the order page, and paying again works', async () => {
    await t.shop.faults({ notify_drop_first: 0, notify_delay_ms: 0 });
    const context = await buyerContext(t.browser, t.shop.base, 'iphone');
    const page = await context.newPage();

    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await cashier(page, 'cancel');
    await waitForHeading(page, '等待支付结果');
    await t.shop.assertStatus(token, 'pending');
    await screenshot(page, SCENARIO, '2-after-cancel');

    await startPaying(page, true);
    await cashier(page, 'pay');
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, '2-paid-on-second-try');

    await assertPaidCleanly(t.shop, context, token);
  });
});

describe('an iPhone buyer whose network changes while paying by H5', () => {
  // The shop and its sandbox sit behind a "proxy" (loopback, trusted) that says where the
  // buyer is; the buyer moving from Wi-Fi to mobile data is a new X-Forwarded-For.
  const t = useShop(`${SCENARIO}-network`, { WXCHECKOUT_TRUSTED_PROXIES: '["127.0.0.1"]' });

  it('is refused by the cashier after the change, and 重新支付 gets a link for the new network that pays', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'iphone');
    context.watch.allowDocumentStatus(403);
    await context.setExtraHTTPHeaders({ 'X-Forwarded-For': '198.51.100.10' });
    const page = await context.newPage();

    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await page.waitForURL(/\/sandbox\/cgi-bin\/mmpayweb-bin\/checkmweb/);
    // Wi-Fi → mobile data, with WeChat's cashier open.
    await context.setExtraHTTPHeaders({ 'X-Forwarded-For': '203.0.113.20' });
    await page.getByRole('button', { name: /确认支付/ }).click();
    await page.getByRole('heading', { name: /网络环境未能通过安全验证/ }).waitFor();
    await screenshot(page, `${SCENARIO}-network`, '1c-network-changed');
    await t.shop.assertStatus(token, 'pending');

    await page.goto(`${t.shop.base}/o/${token}`);
    await startPaying(page, true);
    await cashier(page, 'pay');
    await waitForHeading(page, '支付成功');
    await screenshot(page, `${SCENARIO}-network`, '1c-paid-on-the-new-network');
    await t.shop.assertStatus(token, 'paid');
    context.watch.assertClean();
    await context.close();
  });
});
