// What the merchant does in the admin, for tests that need an order in a given state.

import { ADMIN_PASSWORD } from './server.mjs';

/**
 * Signs in on the admin's sign-in form, which /admin shows in place (status 401) until then;
 * ends on the dashboard. On a touch screen (`tap`) the button is tapped.
 */
export async function signIn(page, base, { tap = false } = {}) {
  await page.goto(`${base}/admin`);
  await page.getByLabel(/密码/).fill(ADMIN_PASSWORD);
  const button = page.getByRole('button', { name: /登录/ });
  await (tap ? button.tap() : button.click());
  await page.getByRole('heading', { level: 1, name: /概览/ }).waitFor();
}

/** The order's status as the admin order page shows it. */
export function adminStatus(page) {
  return page.locator('h1 .status');
}

/**
 * Refunds `yuan` of order `orderNo` from its admin page, then refreshes that page until the
 * status reads `settled` (the sandbox settles refunds after a while and notifies).
 */
export async function refund(page, base, orderNo, yuan, settled, { tap = false } = {}) {
  if (!page.url().endsWith(`/admin/orders/${orderNo}`)) await page.goto(`${base}/admin/orders/${orderNo}`);
  const form = page.locator('form.refund-form');
  await form.getByLabel(/退款金额/).fill(yuan);
  await form.getByLabel(/退款原因/).fill('少发一件 / one item missing');
  const button = form.getByRole('button', { name: '退款' });
  await (tap ? button.tap() : button.click());
  // why the flash: the refund form's answer carries one; the page before it did not.
  await page.waitForURL(new RegExp(`/admin/orders/${orderNo}\\?flash=`));
  await untilStatus(page, base, orderNo, settled);
}

/** Closes an unpaid order from its admin page. */
export async function close(page, base, orderNo) {
  await page.goto(`${base}/admin/orders/${orderNo}`);
  await page.getByRole('button', { name: '关闭订单' }).click();
  await page.waitForURL(/\/close$/); // the answer to the close form is rendered at its address
  await untilStatus(page, base, orderNo, '已关闭');
}

/** Reloads the admin order page (as a merchant would) until its status reads `words`. */
export async function untilStatus(page, base, orderNo, words, tries = 60) {
  for (let i = 0; i < tries; i += 1) {
    if ((await adminStatus(page).textContent()) === words) return;
    await page.waitForTimeout(500);
    await page.goto(`${base}/admin/orders/${orderNo}`);
  }
  throw new Error(`order ${orderNo} did not reach "${words}"; it shows "${await adminStatus(page).textContent()}"`);
}
