// Scenario 6: the merchant, on a phone, finds a paid order and refunds half of it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { buyerContext, launch, screenshot } from './support/browser.mjs';
import { buyNow, cashier, startPaying, waitForHeading } from './support/buyer.mjs';
import { axeViolations, smallTapTargets } from './support/gates.mjs';
import { signIn, untilStatus } from './support/merchant.mjs';
import { ADMIN_PASSWORD, placeOrder, startShop } from './support/server.mjs';

const SCENARIO = 'merchant-phone';

describe('the merchant on a phone', () => {
  let shop;
  let browser;

  before(async () => {
    // why: the sandbox settles a refund after 10 s of its clock; 0.1 makes that one second.
    shop = await startShop(SCENARIO, { WXCHECKOUT_SANDBOX__TIME_SCALE: '0.1' });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  it('signs in, finds the order from the dashboard, refunds half, sees it partially refunded and signs out', async () => {
    // A buyer pays for an order first.
    const buyer = await buyerContext(browser, shop.base, 'iphone');
    const buyerPage = await buyer.newPage();
    const token = await buyNow(buyerPage, shop.base);
    await startPaying(buyerPage);
    await cashier(buyerPage, 'pay');
    await waitForHeading(buyerPage, '支付成功');
    const { order_no: orderNo, total_fen: totalFen } = await shop.status(token);

    const context = await buyerContext(browser, shop.base, 'android');
    // why: without a session the admin answers the sign-in form with 401 at the same address.
    context.watch.allowDocumentStatus(401);
    const page = await context.newPage();

    // Signing in: /admin asks for the password first (the login form, in place).
    await page.goto(`${shop.base}/admin`);
    await page.getByLabel(/密码/).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: /登录/ }).tap();
    await page.getByRole('heading', { level: 1, name: /概览/ }).waitFor();
    await screenshot(page, SCENARIO, '6-dashboard');

    // Finding the order by its number, from the dashboard's search.
    await page.getByRole('searchbox').fill(orderNo);
    await page.getByRole('button', { name: /查找/ }).tap();
    await page.getByRole('link', { name: orderNo }).tap();
    await page.waitForURL(new RegExp(`/admin/orders/${orderNo}$`));
    await page.getByRole('heading', { level: 1, name: new RegExp(orderNo) }).waitFor();

    // Refunding half.
    const half = (totalFen / 2 / 100).toFixed(2);
    const form = page.locator('form.refund-form');
    await form.getByLabel(/退款金额/).fill(half);
    await form.getByLabel(/退款原因/).fill('少发一件 / one item missing');
    await screenshot(page, SCENARIO, '6-refund-form');
    await form.getByRole('button', { name: '退款' }).tap();
    await page.waitForURL(new RegExp(`/admin/orders/${orderNo}`));

    // The sandbox settles the refund and notifies; the merchant refreshes the order page.
    await untilStatus(page, shop.base, orderNo, '部分退款');
    assert.match(await page.locator('dd', { hasText: '¥' }).nth(1).textContent(), new RegExp(half.replace('.', '\\.')));
    await screenshot(page, SCENARIO, '6-order-partially-refunded');
    assert.equal((await shop.status(token)).status, 'partially_refunded');

    // The buyer's own page says so too.
    await buyerPage.reload();
    await waitForHeading(buyerPage, '已部分退款');

    // Signing out ends the session: the admin asks for the password again.
    await page.getByRole('button', { name: /退出/ }).tap();
    await page.waitForURL(/\/admin\/login/);
    await page.goto(`${shop.base}/admin/orders/${orderNo}`);
    await page.getByLabel(/密码/).waitFor();
    assert.equal(await page.getByText(orderNo).count(), 0, 'no order data without a session');
    await screenshot(page, SCENARIO, '6-signed-out');

    context.watch.assertClean();
    buyer.watch.assertClean();
    await context.close();
    await buyer.close();
  });

  it('finds every admin page usable on a phone: no serious axe-core violation, tap targets of 44 px', async () => {
    const orderNo = (await shop.status(await placeOrder(shop))).order_no;
    const context = await buyerContext(browser, shop.base, 'android');
    context.watch.allowDocumentStatus(401);
    const page = await context.newPage();
    await page.goto(`${shop.base}/admin`);
    const pages = [
      '/admin',
      '/admin/orders',
      `/admin/orders/${orderNo}`,
      '/admin/products',
      '/admin/products/new',
      '/admin/settings',
      '/admin/doctor',
      '/admin/reconciliation',
      '/admin/log',
    ];
    const found = { '/admin (sign-in form)': [...(await axeViolations(page)), ...(await smallTapTargets(page))] };
    await signIn(page, shop.base);
    for (const path of pages) {
      await page.goto(`${shop.base}${path}`);
      found[path] = [...(await axeViolations(page)), ...(await smallTapTargets(page))];
    }
    assert.deepEqual(Object.entries(found).filter(([, problems]) => problems.length > 0), []);
    context.watch.assertClean();
    await context.close();
  });
});
