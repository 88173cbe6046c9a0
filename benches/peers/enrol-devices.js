'use strict';
// Peer of playbooks/demo-backup/enrol-devices.toml: enrol the machines of an
// existing customer not enrolled yet, capturing each licence key and
// installer link, then read the customer's devices table.
//
//   node enrol-devices.js --base-url URL --secrets FILE --params FILE.json
//   params: customer_name, devices ({ hostname, serial, quota_gb, os })

const { check, enrolDevices, extract, login, openCustomer, runPeer } = require('./lib');

runPeer(async (page, t, args) => {
  const { customer_name: name, devices } = args.params;
  await login(page, t, args);
  await openCustomer(page, t, args, name);
  const enrolled = await enrolDevices(page, t, devices);
  const { rows } = await extract(page, t, {
    from: 'table#devices tr.device-row',
    fields: { hostname: 'td.hostname', serial: 'td.serial', quota_gb: 'td.quota', status: 'td.status' },
    empty: 'p.empty',
  });
  for (const d of devices) {
    check(rows.some((r) => r.serial === d.serial && r.quota_gb === String(d.quota_gb)), `device ${d.serial} listed`);
  }
  return { counts: { devices: rows.length }, captures: enrolled };
});
