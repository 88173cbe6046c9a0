'use strict';
// Peer of playbooks/demo-backup/customers.toml: every customer, across all
// pages of the list.
//
//   node customers.js --base-url URL --secrets FILE

const { CUSTOMER_LIST, check, extract, goto, login, runPeer } = require('./lib');

runPeer(async (page, t, args) => {
  await login(page, t, args);
  await goto(page, t, `${args.baseUrl}/customers`);
  const { rows, pages } = await extract(page, t, CUSTOMER_LIST);
  check(new Set(rows.map((r) => r.vendor_ref)).size === rows.length, 'each customer once');
  check(rows.every((r) => /^\d+$/.test(r.seats)), 'seats are numbers');
  return { counts: { customers: rows.length }, captures: {}, pages };
});
