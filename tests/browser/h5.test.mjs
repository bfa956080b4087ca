// Scenarios 1 and 2: an iPhone in Safari pays by H5 (MWEB) through the sandbox cashier.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { buyerContext, launch, screenshot } from './support/browser.mjs';
import { buyNow, cashier, startPaying, waitForHeading } from './support/buyer.mjs';
import { startShop } from './support/server.mjs';

const SCENARIO = 'h5-iphone-safari';

describe('an iPhone buyer in Safari paying by H5', () => {
  let shop;
  let browser;

  before(async () => {
    // why: real time (time_scale 1), so the reconciler waits its full minute before it asks
    // WeChat: with notifications dropped, only the buyer's "已完成支付" can find the payment.
    shop = await startShop(SCENARIO);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  it('pays in the sandbox cashier and the order page shows paid by itself', async () => {
    await shop.faults({ notify_drop_first: 0 });
    const context = await buyerContext(browser, shop.base, 'iphone');
    const page = await context.newPage();

    const token = await buyNow(page, shop.base);
    await screenshot(page, SCENARIO, '1-order-pending');
    await startPaying(page);
    await cashier(page, 'pay');
    // The buyer does nothing here: the page polls our own record until the notification lands.
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, '1-order-paid');

    assert.equal((await shop.status(token)).status, 'paid');
    context.watch.assertClean();
    await context.close();
  });

  it('with notifications dropped shows not seen yet until the buyer taps 已完成支付, then paid', async () => {
    await shop.faults({ notify_drop_first: 16 });
    const context = await buyerContext(browser, shop.base, 'iphone');
    const page = await context.newPage();

    const token = await buyNow(page, shop.base);
    await startPaying(page);
    await cashier(page, 'pay');
    await waitForHeading(page, '等待支付结果');
    // The page keeps asking our record (every 2 s) and it keeps saying "not seen yet".
    const polls = context.watch.count(`/o/${token}/status`);
    await page.waitForTimeout(5_000);
    assert.ok(context.watch.count(`/o/${token}/status`) >= polls + 2, 'the order page polls our status');
    await waitForHeading(page, '等待支付结果', 1_000);
    assert.equal((await shop.status(token)).status, 'pending');
    await screenshot(page, SCENARIO, '1b-order-not-seen-yet');

    await page.getByRole('button', { name: '已完成支付' }).click();
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, '1b-order-paid-after-check');

    assert.equal((await shop.status(token)).status, 'paid');
    context.watch.assertClean();
    await context.close();
  });

  it('cancels in the cashier, is offered 重新支付 on the order page, and paying again works', async () => {
    await shop.faults({ notify_drop_first: 0 });
    const context = await buyerContext(browser, shop.base, 'iphone');
    const page = await context.newPage();

    const token = await buyNow(page, shop.base);
    await startPaying(page);
    await cashier(page, 'cancel');
    await waitForHeading(page, '等待支付结果');
    assert.equal((await shop.status(token)).status, 'pending');
    await screenshot(page, SCENARIO, '2-after-cancel');

    await startPaying(page, true);
    await cashier(page, 'pay');
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, '2-paid-on-second-try');

    assert.equal((await shop.status(token)).status, 'paid');
    context.watch.assertClean();
    await context.close();
  });
});
