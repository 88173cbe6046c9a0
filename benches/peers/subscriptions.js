'use strict';
// Peer of playbooks/demo-backup/subscriptions.toml: seats per SKU of one
// customer, the plan shown in the billing iframe, and a screenshot.
//
//   node subscriptions.js --base-url URL --secrets FILE --params FILE.json [--artifacts DIR]
//   params: customer_name

const path = require('node:path');
const { capture, check, extract, login, openCustomer, runPeer } = require('./lib');

runPeer(async (page, t, args) => {
  await login(page, t, args);
  await openCustomer(page, t, args, args.params.customer_name);
  await t.time('click', () => page.click('#subscriptions'));
  const { rows } = await extract(page, t, {
    from: 'table#subscriptions tr.sku-row',
    fields: { sku: { attr: 'data-sku' }, product: 'td.product', seats: 'td.seats', unit_price: 'td.unit-price' },
  });
  const frame = page.frameLocator('iframe#billing-frame');
  const billing = {
    billing_plan: await capture(frame, t, '#billing-plan'),
    billing_period: await capture(frame, t, '#billing-period'),
    billing_total: await capture(frame, t, '#billing-total'),
  };
  const file = path.join(args.artifacts, 'subscriptions.png');
  await t.time('screenshot', () => page.screenshot({ path: file }));
  check(rows.length === 3, 'three SKUs');
  check(/^\d+\.\d{2} EUR$/.test(billing.billing_total), 'billing total');
  return { counts: { subscriptions: rows.length }, captures: billing };
});
