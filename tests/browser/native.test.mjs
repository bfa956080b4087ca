// Scenarios 4 and 5: a desktop buyer pays by Native QR code (scanned in the sandbox), and a
// buyer inside WeCom is sent to WeChat with a link to copy.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { assertPaidCleanly, buyNow, startPaying, waitForHeading } from './support/buyer.mjs';
import { useShop } from './support/server.mjs';

describe('a desktop buyer paying by Native QR code, and a buyer inside WeCom', () => {
  const t = useShop('native-and-wecom');

  it('sees a QR code, pays on the sandbox scan page, and the QR page moves to paid by itself', async () => {
    const SCENARIO = 'native-desktop';
    const context = await buyerContext(t.browser, t.shop.base, 'desktop');
    const page = await context.newPage();

    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await page.getByRole('heading', { name: '请使用微信扫一扫' }).waitFor();
    const qr = page.locator('.qr svg');
    const box = await qr.boundingBox();
    assert.ok(box && box.width >= 160 && box.height >= 160, `the QR code is large enough to scan: ${JSON.stringify(box)}`);
    await screenshot(page, SCENARIO, '4-native-qr');

    // "Scanning": the sandbox scan page opens in a new tab with this order's code_url.
    const [scan] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: '在沙箱中扫码' }).click()]);
    await scan.getByRole('button', { name: /确认支付/ }).click();
    await scan.getByRole('heading', { name: /支付成功/ }).waitFor();
    await screenshot(scan, SCENARIO, '4-sandbox-scan-paid');
    await scan.close();

    // The QR page follows our own record and moves to the order page without a click.
    await page.waitForURL(new RegExp(`/o/${token}$`), { timeout: 30_000 });
    await waitForHeading(page, '支付成功');
    await screenshot(page, SCENARIO, '4-order-paid');

    await assertPaidCleanly(t.shop, context, token);
  });

  it('inside WeCom is asked to open the link in WeChat, and the copy button copies that link', async () => {
    const SCENARIO = 'wecom';
    const context = await buyerContext(t.browser, t.shop.base, 'wecom');
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.shop.base });
    const page = await context.newPage();

    const token = await buyNow(page, t.shop.base);
    await startPaying(page);
    await page.getByRole('heading', { name: '请在微信中打开此链接' }).waitFor();
    const link = await page.getByLabel('支付链接').inputValue();
    assert.equal(new URL(link).origin, t.shop.base);
    assert.match(new URL(link).pathname, new RegExp(`^/(pay|o)/${token}$`));

    // why an observer: the button says 已复制 for 2 s only, which a loaded machine can miss.
    await page.evaluate(() => {
      const button = document.querySelector('[data-copy-target]');
      window.labels = [];
      new MutationObserver(() => window.labels.push(button.textContent)).observe(button, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await page.getByRole('button', { name: '复制链接' }).tap();
    await page.waitForFunction(() => window.labels.includes('已复制'));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
    await screenshot(page, SCENARIO, '5-open-in-wechat-copied');

    await t.shop.assertStatus(token, 'pending');
    context.watch.assertClean();
    await context.close();
  });
});
