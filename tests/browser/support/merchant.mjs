// What the merchant does in the admin, for tests that need an order in a given state.

import { ADMIN_PASSWORD } from './server.mjs';

/** Signs in on the admin's sign-in form (shown in place of any admin page). */
export async function signIn(page, base) {
  await page.goto(`${base}/admin`);
  await page.getByLabel(/密码/).fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: /登录/ }).click();
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
export async function refund(page, base, orderNo, yuan, settled) {
  await page.goto(`${base}/admin/orders/${orderNo}`);
  const form = page.locator('form.refund-form');
  await form.getByLabel(/退款金额/).fill(yuan);
  await form.getByLabel(/退款原因/).fill('测试 / test');
  await form.getByRole('button', { name: '退款' }).click();
  await page.waitForURL(new RegExp(`/admin/orders/${orderNo}`));
  await untilStatus(page, base, orderNo, settled);
}

/** Closes an unpaid order from its admin page. */
export async function close(page, base, orderNo) {
  await page.goto(`${base}/admin/orders/${orderNo}`);
  await page.getByRole('button', { name: '关闭订单' }).click();
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
