'use strict';
// Peer of playbooks/demo-backup/usage.toml: one customer's usage table
// (rendered by JavaScript after an XHR) and its CSV export.
//
//   node usage.js --base-url URL --secrets FILE --params FILE.json
//   params: customer_name, period ("2026-10")

const fs = require('node:fs');
const { capture, check, extract, goto, login, openCustomer, runPeer } = require('./lib');

// RFC 4180 as the export writes it: quoted fields may hold commas and quotes.
function parseCsv(text) {
  const records = [];
  for (const line of text.split(/\r?\n/).filter((l) => l.length > 0)) {
    const fields = [];
    const re = /("((?:[^"]|"")*)"|[^,]*)(,|$)/g;
    let m;
    while ((m = re.exec(line)) !== null) {
      fields.push(m[2] !== undefined ? m[2].replace(/""/g, '"') : m[1]);
      if (m[3] === '') break;
    }
    records.push(fields);
  }
  const [header, ...rest] = records;
  return rest.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

runPeer(async (page, t, args) => {
  const period = args.params.period || '2026-10';
  await login(page, t, args);
  await openCustomer(page, t, args, args.params.customer_name);
  const usageUrl = await capture(page, t, 'a#usage', 'href');
  await goto(page, t, `${args.baseUrl}${usageUrl}?period=${encodeURIComponent(period)}`);
  const { rows } = await extract(page, t, {
    from: 'table#usage tr.usage-row',
    fields: { sku: 'td.sku', metric: 'td.metric', quantity: 'td.quantity', unit: 'td.unit' },
  });
  await t.time('wait', () => page.locator('#usage-loading').waitFor({ state: 'hidden' }));
  const csv = await t.time('download', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a#export-csv')]);
    return parseCsv(fs.readFileSync(await download.path(), 'utf8'));
  });
  check(rows.length > 0, 'usage rows');
  check(csv.length === rows.length, 'as many CSV rows as table rows');
  check(csv.every((r, i) => r.sku === rows[i].sku && r.quantity === rows[i].quantity && r.period === period),
    'the CSV export matches the table');
  return { counts: { usage: rows.length, usage_csv: csv.length }, captures: { usage_url: usageUrl } };
});
