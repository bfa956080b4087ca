// Scenario 6: the merchant, on a phone, finds a paid order and refunds half of it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { buyNow, payByH5, waitForHeading } from './support/buyer.mjs';
import { axeViolations, smallTapTargets } from './support/gates.mjs';
import { refund, signIn } from './support/merchant.mjs';
import { placeOrder, useShop } from './support/server.mjs';

const SCENARIO = 'merchant-phone';

describe('the merchant on a phone', () => {
  // why 0.1: the sandbox settles a refund after 10 s of its clock; this makes it one second.
  const t = useShop(SCENARIO, { WXCHECKOUT_SANDBOX__TIME_SCALE: '0.1' });

  it('signs in, finds the order from the dashboard, refunds half, sees it partially refunded and signs out', async () => {
    // A buyer pays for an order first.
    const buyer = await buyerContext(t.browser, t.shop.base, 'iphone');
    const buyerPage = await buyer.newPage();
    const token = await buyNow(buyerPage, t.shop.base);
    await payByH5(buyerPage);
    const { order_no: orderNo, total_fen: totalFen } = await t.shop.status(token);

    const context = await buyerContext(t.browser, t.shop.base, 'android');
    // why: until signed in, the admin answers its pages with the sign-in form and a 401.
    context.watch.allowDocumentStatus(401);
    const page = await context.newPage();

    await signIn(page, t.shop.base, { tap: true });
    await screenshot(page, SCENARIO, '6-dashboard');

    // Finding the order by its number, from the dashboard's search.
    await page.getByRole('searchbox').fill(orderNo);
    await page.getByRole('button', { name: /查找/ }).tap();
    await page.getByRole('link', { name: orderNo }).tap();
    await page.waitForURL(new RegExp(`/admin/orders/${orderNo}$`));
    await page.getByRole('heading', { level: 1, name: new RegExp(orderNo) }).waitFor();
    await screenshot(page, SCENARIO, '6-order-found');

    // Refunding half; the sandbox settles it and notifies, the merchant refreshes the page.
    const half = (totalFen / 2 / 100).toFixed(2);
    await refund(page, t.shop.base, orderNo, half, '部分退款', { tap: true });
    const refunded = page.locator('dt', { hasText: '已退款' }).locator('xpath=following-sibling::dd[1]');
    assert.equal(await refunded.textContent(), `¥${half}`);
    await screenshot(page, SCENARIO, '6-order-partially-refunded');
    await t.shop.assertStatus(token, 'partially_refunded');

    // The buyer's own page says so too.
    await buyerPage.reload();
    await waitForHeading(buyerPage, '已部分退款');

    // Signing out ends the session: the admin asks for the password again.
    await page.getByRole('button', { name: /退出/ }).tap();
    await page.waitForURL(/\/admin\/login/);
    const again = await page.goto(`${t.shop.base}/admin/orders/${orderNo}`);
    assert.equal(again.status(), 401);
    await page.getByLabel(/密码/).waitFor();
    assert.equal(await page.getByText(orderNo).count(), 0, 'no order data without a session');
    await screenshot(page, SCENARIO, '6-signed-out');

    context.watch.assertClean();
    buyer.watch.assertClean();
    await context.close();
    await buyer.close();
  });

  it('finds every admin page usable on a phone: no serious axe-core violation, tap targets of 44 px', async () => {
    const orderNo = (await t.shop.status(await placeOrder(t.shop))).order_no;
    const context = await buyerContext(t.browser, t.shop.base, 'android');
    context.watch.allowDocumentStatus(401); // the sign-in form; each page's status is checked below
    const page = await context.newPage();
    const signInForm = await page.goto(`${t.shop.base}/admin`);
    assert.equal(signInForm.status(), 401);
    const found = { '/admin (sign-in form)': [...(await axeViolations(page)), ...(await smallTapTargets(page))] };
    await signIn(page, t.shop.base);
    // why: the reconciliation page lists past runs (links) only once a day was reconciled;
    // whether the daily run has happened depends on the time of day, so run one now.
    await page.goto(`${t.shop.base}/admin/reconciliation`);
    await page.getByRole('button', { name: /立即对账/ }).click();
    await page.waitForURL(/\/admin\/reconciliation\?day=/);
    const pages = [
      '/admin',
      '/admin/orders',
      `/admin/orders?q=${orderNo}`,
      `/admin/orders/${orderNo}`,
      '/admin/products',
      '/admin/products/new',
      '/admin/settings',
      '/admin/alerts',
      '/admin/settings/shop',
      '/admin/doctor',
      '/admin/reconciliation',
      '/admin/log',
    ];
    for (const path of pages) {
      const res = await page.goto(`${t.shop.base}${path}`);
      assert.equal(res.status(), 200, `${path} is shown to the signed-in merchant`);
      assert.equal(await page.getByLabel(/密码/).count(), 0, `${path} is not the sign-in form`);
      found[path] = [...(await axeViolations(page)), ...(await smallTapTargets(page))];
    }
    assert.deepEqual(Object.entries(found).filter(([, problems]) => problems.length > 0), []);
    context.watch.assertClean();
    await context.close();
  });

  it("names the shop from a phone: a buyer's phone shows its name, contact, policy and ICP number in a footer that fits the screen", async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'android');
    context.watch.allowDocumentStatus(401);
    const page = await context.newPage();
    await signIn(page, t.shop.base, { tap: true });
    await page.goto(`${t.shop.base}/admin/settings`);
    await page.getByRole('link', { name: /修改 \/ Edit/ }).tap();
    await page.waitForURL(/\/admin\/settings\/shop$/);
    await page.getByLabel(/店铺名称/).fill('山间咖啡');
    await page.getByLabel(/客服联系方式/).fill('138 0000 0000');
    await page.getByLabel(/ICP 备案号/).fill('京ICP备12345678号-1');
    await page.getByLabel(/退换货政策/).fill('七天无理由退货。\n生鲜除外。');
    await page.getByRole('button', { name: /保存/ }).tap();
    await page.waitForURL(/\/admin\/settings\/shop\?saved=1$/);
    await page.getByRole('status').filter({ hasText: /已保存/ }).waitFor();
    await screenshot(page, SCENARIO, '6-shop-settings-saved');

    const buyer = await buyerContext(t.browser, t.shop.base, 'iphone');
    const shopPage = await buyer.newPage();
    await shopPage.goto(`${t.shop.base}/p/oolong-tea`);
    assert.match(await shopPage.title(), / - 山间咖啡$/);
    const footer = shopPage.locator('footer');
    await footer.scrollIntoViewIfNeeded();
    assert.match(await footer.textContent(), /山间咖啡[\s\S]*138 0000 0000/);
    const icp = footer.getByRole('link', { name: '京ICP备12345678号-1' });
    assert.equal(await icp.getAttribute('href'), 'https://beian.miit.gov.cn/');
    assert.equal(await icp.getAttribute('target'), '_blank');
    assert.equal(await icp.getAttribute('rel'), 'noopener');
    const box = await footer.boundingBox();
    const width = shopPage.viewportSize().width;
    assert.ok(box.x >= 0 && box.x + box.width <= width + 1, `the footer fits the ${width} px screen: ${JSON.stringify(box)}`);
    assert.ok(await shopPage.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
    assert.deepEqual([...(await axeViolations(shopPage)), ...(await smallTapTargets(shopPage))], []);
    await screenshot(shopPage, SCENARIO, '6-buyer-footer');

    await footer.getByRole('link', { name: /退换货政策/ }).tap();
    await shopPage.waitForURL(/\/policy$/);
    await shopPage.getByRole('heading', { level: 1, name: /退换货政策/ }).waitFor();
    assert.match(await shopPage.locator('.policy').textContent(), /七天无理由退货。\n生鲜除外。/);

    context.watch.assertClean();
    buyer.watch.assertClean();
    await context.close();
    await buyer.close();
  });
});
