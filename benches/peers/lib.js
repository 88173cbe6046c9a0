'use strict';
// What the peer scripts share: their command line, the browser launch
// panelwright uses, per-action timing, TOTP, the login flow, opening a
// customer, enrolling devices and paginated extraction.
//
// Written as a careful Playwright user would: locators with auto-wait,
// `page.fill`, `page.click`, `selectOption`, `$$eval` for tables, waits on
// conditions (URLs, selectors), never a fixed sleep.

const { chromium } = require('playwright-core');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

// The flags of panelwright's sessions (webdriver/capabilities.json), with
// the same window size; `headless: true` adds the headless flag.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--window-size=1280,900',
];
const CHROMIUM = process.env.PANELWRIGHT_CHROMIUM || '/usr/bin/chromium';
// panelwright's default wait budget per step (a playbook's `timeout`).
const DEFAULT_TIMEOUT_MS = 15000;

// `--base-url URL --secrets FILE [--params FILE.json] [--artifacts DIR]`.
function parseArgs(argv = process.argv.slice(2)) {
  const args = { params: {}, artifacts: 'artifacts' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case '--base-url': args.baseUrl = value.replace(/\/$/, ''); break;
      case '--secrets': args.secrets = readSecrets(value); break;
      case '--params': args.params = JSON.parse(fs.readFileSync(value, 'utf8')); break;
      case '--artifacts': args.artifacts = value; break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  if (!args.baseUrl || !args.secrets) throw new Error('--base-url and --secrets are required');
  return args;
}

// The `[login]` table of a panelwright secrets file (`key = "value"` lines).
function readSecrets(file) {
  const secrets = {};
  let table = '';
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = line.match(/^\[(.+)\]$/);
    if (header) { table = header[1].trim(); continue; }
    const kv = line.match(/^([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"$/);
    if (kv) secrets[table ? `${table}.${kv[1]}` : kv[1]] = JSON.parse(`"${kv[2]}"`);
  }
  return secrets;
}

// RFC 6238 TOTP as panelwright's `totp` step: HMAC-SHA1, 6 digits, 30 s.
function totp(base32Seed, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32Seed.toUpperCase().replace(/[\s=]/g, '')) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error('the TOTP seed is not valid base32');
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1e6;
  return String(code).padStart(6, '0');
}

// Times each action (performance.now()) for the per-action comparison.
class Timer {
  constructor() { this.actions = []; }
  async time(kind, action) {
    const started = performance.now();
    const result = await action();
    this.actions.push({ kind, ms: Math.round((performance.now() - started) * 10) / 10 });
    return result;
  }
}

// A value for a quoted CSS attribute selector (panelwright's `| css`).
function cssString(text) {
  return text.replace(/["\\]/g, '\\$&');
}

// A fact the script checks about its own work; failing it fails the run.
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// `goto` as panelwright's: the page must load with a 2xx/3xx answer.
async function goto(page, t, url) {
  const response = await t.time('goto', () => page.goto(url));
  check(response && response.status() < 400, `${url} answered ${response && response.status()}`);
}

// Waits until the first element of a selector group is visible.
async function waitFor(page, t, selector) {
  await t.time('wait', () => page.locator(selector).first().waitFor({ state: 'visible' }));
}

// Visible text of an element, once it is visible (panelwright's `capture`).
async function capture(scope, t, selector, attr) {
  return t.time('capture', async () => {
    const element = scope.locator(selector).first();
    await element.waitFor({ state: 'visible' });
    const value = attr ? await element.getAttribute(attr) : await element.textContent();
    check(value !== null, `${selector} has no ${attr || 'text'}`);
    return attr ? value : value.replace(/\s+/g, ' ').trim();
  });
}

// Signs in (password, then TOTP) unless the console still knows the session:
// flows/login.toml.
async function login(page, t, args) {
  await goto(page, t, `${args.baseUrl}/customers`);
  await waitFor(page, t, '#current-user, #login-form');
  if (!(await page.locator('#login-form').isVisible())) return;
  await t.time('fill', () => page.fill('#username', args.secrets['login.username']));
  await t.time('fill', () => page.fill('#password', args.secrets['login.password']));
  await t.time('click', () => page.click('#sign-in'));
  await waitFor(page, t, '#totp, .alert-error');
  check(!(await page.locator('.alert-error').isVisible()), 'the vendor rejected the login');
  await t.time('fill', () => page.fill('#totp', totp(args.secrets['login.totp_seed'])));
  await t.time('click', () => page.click('#verify'));
  await waitFor(page, t, '#current-user, .alert-error');
  check(!(await page.locator('.alert-error').isVisible()), 'the vendor rejected the verification code');
}

// Opens the customer named `name`: flows/customer.toml.
async function openCustomer(page, t, args, name) {
  await goto(page, t, `${args.baseUrl}/customers?q=${encodeURIComponent(name)}`);
  await waitFor(page, t, 'tr.customer-row, p.empty');
  const row = page.locator(`tr.customer-row[data-customer="${cssString(name)}"]`);
  check((await row.count()) > 0, `customer ${name} does not exist at the vendor`);
  await t.time('click', () => row.locator('td.name a').click());
  await waitFor(page, t, 'h1#customer-name');
}

// Enrols each device not enrolled yet (same serial) on the open customer's
// page, capturing its licence key and installer link: flows/enrol.toml.
// Returns the captures by panelwright's output names (`licence_key[SERIAL]`).
async function enrolDevices(page, t, devices) {
  const enrolled = {};
  for (const device of devices) {
    const row = page.locator(`tr.device-row[data-serial="${cssString(device.serial)}"]`);
    if ((await row.count()) > 0) continue;
    await t.time('click', () => page.click('#enrol-device'));
    await t.time('fill', () => page.fill('#hostname', device.hostname));
    await t.time('fill', () => page.fill('#serial', device.serial));
    await t.time('fill', () => page.fill('#quota-gb', String(device.quota_gb)));
    await t.time('select', () => page.selectOption('#os', device.os));
    await t.time('check', () => page.uncheck('#auto-update'));
    await t.time('click', () => page.click('#enrol'));
    await waitFor(page, t, '#licence-key, .alert-error');
    check(!(await page.locator('.alert-error').isVisible()), `the vendor refused to enrol ${device.hostname}`);
    const licence = await capture(page, t, '#licence-key');
    const installer = await capture(page, t, '#installer-link', 'href');
    check(/^DBK(-[A-Z0-9]{4}){4}$/.test(licence), `licence key of ${device.serial}`);
    check(/\/downloads\/installer\/[0-9a-f]+$/.test(installer), `installer link of ${device.serial}`);
    enrolled[`licence_key[${device.serial}]`] = fingerprint(licence);
    enrolled[`installer_link[${device.serial}]`] = installer;
    await t.time('click', () => page.click('#back-to-customer'));
    await waitFor(page, t, 'table#devices');
  }
  return enrolled;
}

// Rows of named fields from a table, following `next` links: panelwright's
// `extract`. `fields` maps a name to a selector relative to the row (its
// text, whitespace collapsed) or `{ css, attr }` (no css: the row itself).
// One `extract` action per page: reading it and going on to the next.
// Returns `{ rows, pages }`.
async function extract(page, t, { from, fields, next, maxPages = 50, empty }) {
  const rows = [];
  const ready = empty ? `${from}, ${empty}` : from;
  for (let pageNo = 1; ; pageNo++) {
    const more = await t.time('extract', async () => {
      await page.locator(ready).first().waitFor({ state: 'visible' });
      rows.push(...(await page.$$eval(from, readRows, fields)));
      if (!next || pageNo >= maxPages) return false;
      const link = page.locator(next);
      if ((await link.count()) === 0) return false;
      const target = new URL(await link.first().getAttribute('href'), page.url()).href;
      await Promise.all([page.waitForURL(target), link.first().click()]);
      return true;
    });
    if (!more) return { rows, pages: pageNo };
  }
}

// Every customer across the pages of the list (customers.toml's `extract`).
const CUSTOMER_LIST = {
  from: 'table#customers tr.customer-row',
  fields: {
    vendor_ref: { attr: 'data-id' }, name: 'td.name', contact: 'td.contact', region: 'td.region',
    seats: 'td.seats', devices: 'td.devices', status: 'td.status',
  },
  next: 'nav.pagination a.next',
  maxPages: 100,
  empty: 'p.empty',
};

// Runs in the page: one object per row.
function readRows(elements, fields) {
  const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
  return elements.map((row) => {
    const out = {};
    for (const [name, spec] of Object.entries(fields)) {
      if (typeof spec === 'string') {
        out[name] = text(row.querySelector(spec));
      } else {
        const el = spec.css ? row.querySelector(spec.css) : row;
        out[name] = (el && el.getAttribute(spec.attr)) || '';
      }
    }
    return out;
  });
}

// A secret's fingerprint (SHA-256, 16 hex digits) for the benchmark to
// compare with the vendor's value, so the secret itself is never printed.
function fingerprint(secret) {
  return crypto.createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

// Launches Chromium as panelwright would, runs `body(page, t, args)` with
// `timeoutMs` as every wait's budget (a playbook's `timeout`), and prints
// the result JSON as the last stdout line; exit 1 on any failure. `body`
// returns `{ counts, captures }` named as the playbook's outputs: rows per
// extraction, and captured values (secrets as fingerprints).
async function runPeer(body, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const t = new Timer();
  let browser;
  try {
    const args = parseArgs();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    // No viewport emulation: the window size above, as panelwright's sessions.
    const context = await browser.newContext({ viewport: null, acceptDownloads: true });
    context.setDefaultTimeout(timeoutMs);
    const page = await context.newPage();
    const values = await body(page, t, args);
    await browser.close();
    browser = undefined;
    console.log(JSON.stringify({ ok: true, actions: t.actions, values }));
  } catch (e) {
    if (browser) await browser.close().catch(() => {});
    console.log(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e), actions: t.actions }));
    process.exitCode = 1;
  }
}

// The demo playbooks' folder (the provision peer uploads its logo from it).
const PLAYBOOKS = path.join(__dirname, '..', '..', 'playbooks', 'demo-backup');

module.exports = {
  CUSTOMER_LIST, PLAYBOOKS, capture, check, cssString, enrolDevices, extract, fingerprint, goto,
  login, openCustomer, runPeer, totp, waitFor,
};
