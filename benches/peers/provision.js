'use strict';
// Peer of playbooks/demo-backup/provision.toml: create the customer unless
// it exists (looking first, by a search), capture its one-time admin
// credentials and API key, its vendor id, and enrol its machines.
//
//   node provision.js --base-url URL --secrets FILE --params FILE.json
//   params: customer_name, contact_email (""), region ("eu-west"), seats (5),
//   logo ("assets/msp-logo.png", relative to playbooks/demo-backup; "": none),
//   devices ([]: { hostname, serial, quota_gb, os })

const path = require('node:path');
const {
  PLAYBOOKS, capture, check, cssString, enrolDevices, fingerprint, login, runPeer, waitFor,
} = require('./lib');

runPeer(async (page, t, args) => {
  const p = {
    contact_email: '', region: 'eu-west', seats: 5, logo: 'assets/msp-logo.png', devices: [],
    ...args.params,
  };
  const name = p.customer_name;
  await login(page, t, args);
  await t.time('fill', () => page.fill('#search', name));
  await t.time('press', () => Promise.all([
    page.waitForURL((url) => url.searchParams.get('q') === name),
    page.press('#search', 'Enter'),
  ]));
  await waitFor(page, t, 'tr.customer-row, p.empty');
  const row = page.locator(`tr.customer-row[data-customer="${cssString(name)}"]`);
  const captures = {};
  if ((await row.count()) === 0) {
    await t.time('click', () => page.click('#new-customer'));
    await t.time('fill', () => page.fill('#name', name));
    await t.time('fill', () => page.fill('#contact-email', p.contact_email));
    await t.time('select', () => page.selectOption('#region', p.region));
    await t.time('fill', () => page.fill('#seats', String(p.seats)));
    await t.time('check', () => page.check('#terms'));
    if (p.logo) {
      await t.time('upload', () => page.setInputFiles('#logo', path.join(PLAYBOOKS, p.logo)));
    }
    await t.time('click', () => page.click('#create'));
    await t.time('wait', () => page.waitForURL(/\/welcome$/));
    await t.time('wait', () => page.locator('h1', { hasText: 'Customer created' }).waitFor());
    check(!(await page.locator('.alert-error').isVisible()), `the vendor refused to create ${name}`);
    const username = await capture(page, t, '#admin-username');
    const password = await capture(page, t, '#admin-password');
    const apiKey = await capture(page, t, '#api-key');
    check(username.startsWith('admin@'), 'admin username');
    check(password.length === 16, 'admin password');
    check(/^dbk_live_[0-9a-f]{32}$/.test(apiKey), 'API key');
    Object.assign(captures, {
      admin_username: username, admin_password: fingerprint(password), api_key: fingerprint(apiKey),
    });
    await t.time('click', () => page.click('#continue'));
  } else {
    await t.time('click', () => row.locator('td.name a').click());
  }
  await waitFor(page, t, 'h1#customer-name');
  const heading = await page.locator('h1#customer-name').textContent();
  check(heading.includes(name), 'landed on the wrong customer');
  captures.vendor_customer_id = await capture(page, t, '#customer-id');
  check(/^\d+$/.test(captures.vendor_customer_id), 'vendor customer id');
  Object.assign(captures, await enrolDevices(page, t, p.devices));
  return { counts: {}, captures };
});
