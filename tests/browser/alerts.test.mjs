// Scenario: the merchant, on a phone, points alerts at a webhook, copies the signing secret
// shown once, sends a test alert and sees it delivered; a buyer's payment then reaches the
// webhook too, signed with that secret.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import { buyerContext, screenshot } from './support/browser.mjs';
import { buyNow, payByH5 } from './support/buyer.mjs';
import { axeViolations, smallTapTargets } from './support/gates.mjs';
import { signIn } from './support/merchant.mjs';
import { useShop } from './support/server.mjs';

const SCENARIO = 'alerts-phone';

/** A webhook receiver on loopback that keeps what it is sent and answers 200. */
function receiver() {
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  return { server, received };
}

function verifies(secret, header, body) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest('hex');
  return expected === parts.v1;
}

async function until(what, check) {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('alerts on a phone', () => {
  const t = useShop(SCENARIO);
  const hook = receiver();
  let hookUrl;
  before(async () => {
    await new Promise((r) => hook.server.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${hook.server.address().port}/hook`;
  });
  after(() => hook.server.close());

  it('sets up a webhook, keeps the secret shown once, and sees a test alert and a payment delivered', async () => {
    const context = await buyerContext(t.browser, t.shop.base, 'android');
    context.watch.allowDocumentStatus(401);
    const page = await context.newPage();
    await signIn(page, t.shop.base, { tap: true });
    await page.getByRole('link', { name: /提醒/ }).tap();
    await page.getByRole('heading', { level: 1, name: /提醒/ }).waitFor();

    await page.getByLabel(/通用 Webhook/).fill(hookUrl);
    await page.getByRole('button', { name: /保存/ }).tap();
    const secret = await page.locator('#new-secret').inputValue();
    assert.match(secret, /^whsec_[0-9a-f]{64}$/);
    assert.deepEqual([...(await axeViolations(page)), ...(await smallTapTargets(page))], [], 'alerts page gates');
    await screenshot(page, SCENARIO, '1-secret-shown-once');

    await page.getByRole('button', { name: /发送测试提醒/ }).tap();
    await page.getByText('测试提醒已放入发送队列。').waitFor();
    await until('the test alert reaches the webhook', () => hook.received.length >= 1);
    assert.equal(JSON.parse(hook.received[0].body).type, 'test');
    assert.ok(verifies(secret, hook.received[0].headers['wxcheckout-signature'], hook.received[0].body));
    await until('the page shows the delivery', async () => {
      await page.reload();
      return (await page.locator('.delivery.delivered').count()) >= 1;
    });
    assert.equal(await page.locator('#new-secret').count(), 0, 'the secret is not shown again');

    const buyer = await buyerContext(t.browser, t.shop.base, 'iphone');
    const buyerPage = await buyer.newPage();
    const token = await buyNow(buyerPage, t.shop.base);
    await payByH5(buyerPage);
    const { order_no: orderNo } = await t.shop.status(token);
    await until('the payment reaches the webhook', () => hook.received.some((r) => JSON.parse(r.body).type === 'order.paid'));
    const paid = hook.received.find((r) => JSON.parse(r.body).type === 'order.paid');
    assert.equal(JSON.parse(paid.body).data.order_no, orderNo);
    assert.ok(verifies(secret, paid.headers['wxcheckout-signature'], paid.body));
    await page.reload();
    await page.locator('.alert-row').filter({ hasText: orderNo }).locator('summary').first().tap();
    assert.deepEqual([...(await axeViolations(page)), ...(await smallTapTargets(page))], [], 'delivery log gates');
    await screenshot(page, SCENARIO, '2-deliveries');

    context.watch.assertClean();
    buyer.watch.assertClean();
    await context.close();
    await buyer.close();
  });
});
