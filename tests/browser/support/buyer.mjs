// What a buyer does, step by step, in the page (never by calling the server behind its back).

import assert from 'node:assert/strict';

/** The order token of an order page URL (/o/<token>). */
export function tokenOf(url) {
  const m = new URL(url).pathname.match(/^\/o\/([^/]+)$/);
  assert.ok(m, `not an order page: ${url}`);
  return m[1];
}

/** Shop → product → "立即购买": ends on the new order's page; returns its token. */
export async function buyNow(page, base, productName = /乌龙|oolong/i) {
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: productName }).first().click();
  await page.waitForURL(/\/p\//);
  await page.getByRole('button', { name: /立即购买|Buy now/ }).click();
  await page.waitForURL(/\/o\/[^/?]+$/);
  return tokenOf(page.url());
}

/** On the order page: "去支付" (first time) or "重新支付" (again). */
export async function startPaying(page, again = false) {
  const name = again ? /重新支付|Pay again/ : /^(去支付|Pay now)$/;
  await page.getByRole('link', { name }).click();
}

/** Waits for the order page to show `heading` without the buyer doing anything. */
export async function waitForHeading(page, heading, timeout = 30_000) {
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout });
}

/** The sandbox cashier (H5 middle page): taps Pay or Cancel; the cashier sends the buyer back. */
export async function cashier(page, action) {
  await page.waitForURL(/\/sandbox\/cgi-bin\/mmpayweb-bin\/checkmweb/);
  await page.getByRole('heading', { name: /微信支付/ }).waitFor();
  await page.getByRole('button', { name: action === 'pay' ? /确认支付/ : /取消/ }).click();
  await page.waitForURL(/\/o\/[^/]+/);
}

/** From the order page: pays by H5 in the sandbox cashier and waits for the receipt. */
export async function payByH5(page) {
  await startPaying(page);
  await cashier(page, 'pay');
  await waitForHeading(page, '支付成功');
}

/** The sandbox bridge's WeChat pay sheet, over the JSAPI pay page. */
export function bridgeSheet(page) {
  return page.getByRole('dialog', { name: /微信支付/ });
}

/**
 * The end of a paying scenario: our own record says paid, the sandbox refused nothing by
 * WeChat's registration rules, and the browser saw no problem. Closes the context.
 */
export async function assertPaidCleanly(shop, context, token) {
  await shop.assertStatus(token, 'paid');
  await shop.assertSandboxRefusedNothing();
  context.watch.assertClean();
  await context.close();
}
