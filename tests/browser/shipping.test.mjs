// Scenario: the merchant, on a phone, ships a paid order with a tracking number; the buyer's
// order page then shows the carrier and the tracking number.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { buyNow, payByH5 } from './support/buyer.mjs';
import { axeViolations, smallTapTargets } from './support/gates.mjs';
import { signIn } from './support/merchant.mjs';
import { useShop } from './support/server.mjs';

const SCENARIO = 'shipping-phone';

describe('shipping on a phone', () => {
  const t = useShop(SCENARIO);

  it('the merchant finds the paid order in the to-ship queue, ships it with a tracking number, and the buyer sees it', async () => {
    // A buyer pays for an order first; the receipt says it is being prepared.
    const buyer = await buyerContext(t.browser, t.shop.base, 'iphone');
    const buyerPage = await buyer.newPage();
    const token = await buyNow(buyerPage, t.shop.base);
    await payByH5(buyerPage);
    await buyerPage.getByText(/商家正在备货/).waitFor();
    const { order_no: orderNo } = await t.shop.status(token);

    const context = await buyerContext(t.browser, t.shop.base, 'android');
    // why: until signed in, the admin answers its pages with the sign-in form and a 401.
    context.watch.allowDocumentStatus(401);
    const page = await context.newPage();
    await signIn(page, t.shop.base, { tap: true });

    // The dashboard's to-ship queue links the order.
    const queue = page.locator('section.to-ship');
    await queue.getByText(/1 个订单待发货/).waitFor();
    await screenshot(page, SCENARIO, '1-dashboard-queue');
    await queue.getByRole('link', { name: orderNo }).tap();
    await page.waitForURL(new RegExp(`/admin/orders/${orderNo}$`));

    // The order page on a phone: usable, then the ship form.
    assert.deepEqual([...(await axeViolations(page)), ...(await smallTapTargets(page))], [], 'order page gates');
    const form = page.locator('form.ship-form');
    await form.getByLabel('快递公司').fill('顺丰速运');
    await form.getByLabel('快递单号').fill('SF1234567890');
    await form.getByLabel(/备注/).fill('易碎品，轻放');
    await screenshot(page, SCENARIO, '2-ship-form');
    await form.getByRole('button', { name: '标记为已发货' }).tap();
    await page.waitForURL(new RegExp(`/admin/orders/${orderNo}\\?flash=`));
    await page.getByText('已发货：顺丰速运 SF1234567890').waitFor();
    assert.equal(await page.locator('.shipment .tracking').textContent(), 'SF1234567890');
    await screenshot(page, SCENARIO, '3-shipped');

    // The list, filtered to shipped orders, shows it with its tracking number; the queue is empty.
    await page.goto(`${t.shop.base}/admin/orders?fulfilment=shipped`);
    await page.getByRole('link', { name: orderNo }).waitFor();
    assert.deepEqual([...(await axeViolations(page)), ...(await smallTapTargets(page))], [], 'orders list gates');
    await page.goto(`${t.shop.base}/admin`);
    await page.locator('section.to-ship').getByText('没有待发货的订单。').waitFor();

    // The buyer's page, reloaded, says where the parcel is.
    await buyerPage.reload();
    const where = buyerPage.locator('section.fulfilment');
    await where.getByText('已发货', { exact: true }).waitFor();
    assert.equal(await where.locator('.carrier').textContent(), '顺丰速运');
    assert.equal(await where.locator('.tracking').textContent(), 'SF1234567890');
    await where.getByText('易碎品，轻放').waitFor();
    assert.match(await buyerPage.locator('.transaction-id').textContent(), /^\S+$/, 'the receipt has the transaction id');
    assert.deepEqual([...(await axeViolations(buyerPage)), ...(await smallTapTargets(buyerPage))], [], 'buyer page gates');
    await screenshot(buyerPage, SCENARIO, '4-buyer-sees-tracking');

    context.watch.assertClean();
    buyer.watch.assertClean();
    await context.close();
    await buyer.close();
  });

  it('offers bulk "mark shipped" on the list, usable on a phone', async () => {
    const buyer = await buyerContext(t.browser, t.shop.base, 'iphone');
    const buyerPage = await buyer.newPage();
    const token = await buyNow(buyerPage, t.shop.base);
    await payByH5(buyerPage);
    const { order_no: orderNo } = await t.shop.status(token);

    const context = await buyerContext(t.browser, t.shop.base, 'android');
    context.watch.allowDocumentStatus(401);
    const page = await context.newPage();
    await signIn(page, t.shop.base, { tap: true });
    await page.goto(`${t.shop.base}/admin/orders?fulfilment=to_ship`);
    assert.deepEqual([...(await axeViolations(page)), ...(await smallTapTargets(page))], [], 'bulk form gates');
    await page.getByLabel(`选择 ${orderNo}`).check();
    await page.getByLabel(`${orderNo} 的快递单号`).fill('ZT555');
    await page.locator('fieldset.bulk-ship-fields').getByLabel('快递公司').fill('中通快递');
    await page.getByRole('button', { name: '批量发货' }).tap();
    await page.getByRole('heading', { level: 1, name: /1 个订单已发货，0 个未发货/ }).waitFor();
    await screenshot(page, SCENARIO, '5-bulk-shipped');

    await buyerPage.reload();
    await buyerPage.locator('section.fulfilment .tracking').getByText('ZT555').waitFor();

    context.watch.assertClean();
    buyer.watch.assertClean();
    await context.close();
    await buyer.close();
  });
});
