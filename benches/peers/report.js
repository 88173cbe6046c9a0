'use strict';
// Peer of playbooks/demo-backup/report.toml: every customer's usage for a
// period and every customer's services, each from a paginated report.
//
//   node report.js --base-url URL --secrets FILE [--params FILE.json]
//   params: period ("2026-10")

const { check, extract, goto, login, runPeer } = require('./lib');

runPeer(async (page, t, args) => {
  const period = args.params.period || '2026-10';
  await login(page, t, args);
  await goto(page, t, `${args.baseUrl}/reports/usage?period=${encodeURIComponent(period)}`);
  const usage = await extract(page, t, {
    from: 'table#usage-report tr.usage-row',
    fields: {
      customer: 'td.customer-id', customer_name: 'td.customer-name', sku: 'td.sku', metric: 'td.metric',
      quantity: 'td.quantity', unit: 'td.unit', period: 'td.period',
    },
    next: 'nav.pagination a.next',
    maxPages: 100,
    empty: 'p.empty',
  });
  await goto(page, t, `${args.baseUrl}/reports/services`);
  const snapshot = await extract(page, t, {
    from: 'table#service-report tr.item-row',
    fields: {
      customer: 'td.customer-id', customer_name: 'td.customer-name', kind: 'td.kind', key: 'td.key',
      sku: 'td.sku', quantity: 'td.quantity', unit: 'td.unit', status: 'td.status',
    },
    next: 'nav.pagination a.next',
    maxPages: 100,
    empty: 'p.empty',
  });
  check(usage.rows.every((r) => r.period === period), 'usage rows of the period');
  check(snapshot.rows.some((r) => r.kind === 'status'), 'account statuses in the snapshot');
  return {
    counts: { usage: usage.rows.length, snapshot: snapshot.rows.length },
    captures: {},
    pages: { usage: usage.pages, snapshot: snapshot.pages },
  };
});
