'use strict';
// Peer of playbooks/demo-backup/probe.toml: sign in and open two pages,
// changing nothing; a 10 s budget per wait, as the playbook's `timeout`.
//
//   node probe.js --base-url URL --secrets FILE

const { goto, login, runPeer, waitFor } = require('./lib');

runPeer(async (page, t, args) => {
  await login(page, t, args);
  await goto(page, t, `${args.baseUrl}/customers`);
  await waitFor(page, t, 'table#customers');
  await goto(page, t, `${args.baseUrl}/reports/services?page=1`);
  await waitFor(page, t, 'table#service-report');
  return { counts: {}, captures: {} };
}, { timeoutMs: 10000 });
