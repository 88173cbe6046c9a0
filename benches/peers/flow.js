'use strict';
// The benchmark's main flow, the peer of flow.toml: sign in (password +
// TOTP), create the customers of `params.customers` capturing each one's
// one-time admin credentials and API key, then read every customer across
// the pages of the list.
//
//   node flow.js --base-url URL --secrets FILE --params FILE.json

const { CUSTOMER_LIST, capture, check, extract, fingerprint, goto, login, runPeer } = require('./lib');

runPeer(async (page, t, args) => {
  await login(page, t, args);
  const captures = {};
  for (const customer of args.params.customers) {
    await goto(page, t, `${args.baseUrl}/customers/new`);
    await t.time('fill', () => page.fill('#name', customer.name));
    await t.time('fill', () => page.fill('#contact-email', customer.contact_email));
    await t.time('select', () => page.selectOption('#region', customer.region));
    await t.time('fill', () => page.fill('#seats', String(customer.seats)));
    await t.time('check', () => page.check('#terms'));
    // Auto-waits until the console's script enables the button.
    await t.time('click', () => page.click('#create'));
    await t.time('wait', () => page.waitForURL(/\/customers\/\d+\/welcome$/));
    const username = await capture(page, t, '#admin-username');
    const password = await capture(page, t, '#admin-password');
    const apiKey = await capture(page, t, '#api-key');
    check(username.startsWith('admin@'), `admin username of ${customer.name}`);
    check(password.length === 16, `admin password of ${customer.name}`);
    check(/^dbk_live_[0-9a-f]{32}$/.test(apiKey), `API key of ${customer.name}`);
    captures[`admin_username[${customer.name}]`] = username;
    captures[`admin_password[${customer.name}]`] = fingerprint(password);
    captures[`api_key[${customer.name}]`] = fingerprint(apiKey);
  }
  await goto(page, t, `${args.baseUrl}/customers`);
  const { rows, pages } = await extract(page, t, CUSTOMER_LIST);
  const names = new Set(rows.map((r) => r.name));
  check(new Set(rows.map((r) => r.vendor_ref)).size === rows.length, 'each customer once');
  for (const { name } of args.params.customers) check(names.has(name), `${name} in the list`);
  return { counts: { customers: rows.length }, captures, pages };
});
