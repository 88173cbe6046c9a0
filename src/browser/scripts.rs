//! The JavaScript the WebDriver implementation runs in the page.
//!
//! Why scripts: every WebDriver command is an HTTP round trip to
//! chromedriver and, inside it, several DevTools calls. Finding an element,
//! asking whether it is displayed, whether it is enabled, then clicking it
//! is four of those. [`ACT_JS`] does all of it in one script: it checks
//! that the element is attached, displayed, enabled and not covered,
//! scrolls it into view and acts, or says why not. When the element is not
//! ready yet, [`WAIT_JS`] waits *in the page* (a `MutationObserver` plus an
//! animation-frame check) until it is or `within` runs out, so a wait that
//! is already satisfied costs one round trip and one that is not ends
//! within a frame of the page changing, not at the next 100 ms poll. The
//! same waits serve the engine's other conditions (an element shown or
//! gone, text, the URL, rows of a table); [`READ_JS`] waits and reads for
//! captures.
//!
//! What a script does to the page is what a person's click or choice does:
//! - a click is the pointer and mouse events a real click sends, at the
//!   middle of the element's visible part (after a hit test: an element
//!   covered by another one is not clicked, it is waited for), then the
//!   `click` that runs the element's activation behaviour (follow the link,
//!   submit the form, tick the box); the element under the pointer takes
//!   the focus, so the field left behind fires `change`;
//! - a choice in a `<select>` selects the option and fires `input` and
//!   `change`, as the browser does when a person picks one;
//! - a fill focuses the field and selects its content; the text then
//!   arrives as one trusted input event (`Input.insertText` through
//!   chromedriver, as Playwright does), see `webdriver.rs`. Date, time,
//!   colour and range inputs, which take no typed text, get their value
//!   set with `input` and `change` events.
//!
//! An action that starts a navigation (a link followed, a form submitted)
//! says so (`nav`), and the driver waits until the page it acted in is
//! replaced (`WAIT_JS`'s `left`): chromedriver holds commands while a
//! navigation it knows of loads, but it learns of one a moment after the
//! page starts it, and a step sent in between would read the page being
//! left.
//!
//! Every script's result is a plain object: `{ok: true, …}` or
//! `{ok: false, state: "missing" | "hidden" | "disabled" | "covered" |
//! "readonly" | "refused" | "no-option", detail}`.

/// What every script shares: the displayed test (the same as WebDriver's
/// "is displayed" for what consoles use: a box, not `visibility: hidden`,
/// no `display: none` ancestor), a short description of an element for
/// messages, and the in-page wait.
macro_rules! prelude {
    () => {
        r#"
const describe = (n) => {
  if (!n || n.nodeType !== 1) { return String(n); }
  let s = n.tagName.toLowerCase();
  if (n.id) { s += '#' + n.id; }
  if (typeof n.className === 'string' && n.className.trim()) {
    s += '.' + n.className.trim().split(/\s+/).join('.');
  }
  return s;
};
const shown = (el) => {
  if (!el.isConnected || el.getClientRects().length === 0) { return false; }
  const v = getComputedStyle(el).visibility;
  if (v === 'hidden' || v === 'collapse') { return false; }
  for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
    if (getComputedStyle(n).display === 'none') { return false; }
  }
  return true;
};
const enabled = (el) => !(el.disabled === true || el.matches(':disabled'));
const intoView = (el) => {
  const r = el.getBoundingClientRect();
  if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) {
    el.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' });
  }
};
// Where a press on the element lands, once it is scrolled into view: the
// middle of its first box inside the viewport, if that point is the
// element's (or its descendant's), not a cover's.
const pressPoint = (el) => {
  intoView(el);
  let x, y;
  for (const r of el.getClientRects()) {
    const l = Math.max(r.left, 0), t = Math.max(r.top, 0);
    const rr = Math.min(r.right, innerWidth), b = Math.min(r.bottom, innerHeight);
    if (rr > l && b > t) { x = (l + rr) / 2; y = (t + b) / 2; break; }
  }
  if (x === undefined) { return { ok: false, state: 'covered', detail: 'not inside the viewport' }; }
  const hit = document.elementFromPoint(x, y);
  if (!hit || (hit !== el && !el.contains(hit))) {
    return { ok: false, state: 'covered', detail: 'covered by ' + describe(hit) };
  }
  return { ok: true, x: x, y: y, hit: hit };
};
// The element a selector means: its first displayed match, else its first
// match. A group (`#saved, .alert-error`) means whichever is shown, even
// when a hidden match of another part comes first in the page.
const pick = (css) => {
  const all = document.querySelectorAll(css);
  for (const el of all) { if (shown(el)) { return el; } }
  return all.length > 0 ? all[0] : null;
};
// This document's watch on the navigations it starts (installed by the
// first action in it; a new document has none): a token of its own, whether
// a navigation away has begun (`beforeunload`), and the last form
// submission. An action clears both before it acts.
const watch = () => {
  const K = '__panelwrightNav';
  let w = window[K];
  if (!w) {
    w = { doc: Math.random().toString(36).slice(2) + performance.timeOrigin.toString(36),
          unloading: false, submit: null, forced: null };
    Object.defineProperty(window, K, { value: w, enumerable: false });
    addEventListener('beforeunload', () => { w.unloading = true; }, true);
    addEventListener('submit', (e) => { w.submit = e; }, true);
  }
  return w;
};
// The watch, cleared before an action: what it sees next is the action's.
const watchAfresh = () => {
  const w = watch();
  w.unloading = false;
  w.submit = null;
  w.forced = null;
  return w;
};
// Whether the last action started a navigation of this document: one has
// begun, or a form was submitted, no script took the submission over
// (default not prevented), and it loads into this frame.
const loadsHere = (form, by) => {
  const method = ((by && by.getAttribute('formmethod')) || form.getAttribute('method') || '').toLowerCase();
  if (method === 'dialog') { return false; }
  const base = document.querySelector('base[target]');
  const target = (by && by.getAttribute('formtarget')) || form.getAttribute('target')
    || (base ? base.getAttribute('target') : '') || '';
  return target === '' || target === '_self' || (target === '_top' && window === top)
    || (target === '_parent' && window === parent);
};
const navigating = (w) => {
  if (w.unloading) { return true; }
  // A script's `form.submit()` (a select's onchange) fires no `submit`.
  if (w.forced && loadsHere(w.forced, null)) { return true; }
  const e = w.submit;
  return !!e && !e.defaultPrevented && loadsHere(e.target, e.submitter);
};
// Calls attempt() now; unless it is done (or within is 0), again on every
// change of the DOM and every animation frame (plus every 50 ms, should
// frames pause), until it is done or `within` ms have passed. `done` gets
// the first finished result, or the last one seen.
const waitUntil = (attempt, within, done) => {
  let last = attempt();
  if (last.ok || last.final || !(within > 0)) { done(last); return; }
  let finished = false, raf = 0, iv = 0, to = 0, mo = null;
  const finish = (r) => {
    if (finished) { return; }
    finished = true;
    if (mo) { mo.disconnect(); }
    cancelAnimationFrame(raf); clearInterval(iv); clearTimeout(to);
    done(r);
  };
  const again = () => {
    if (finished) { return; }
    try { last = attempt(); } catch (e) { finish({ ok: false, state: 'refused', detail: String(e) }); return; }
    if (last.ok || last.final) { finish(last); }
  };
  mo = new MutationObserver(again);
  mo.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  const frame = () => { again(); if (!finished) { raf = requestAnimationFrame(frame); } };
  raf = requestAnimationFrame(frame);
  iv = setInterval(again, 50);
  to = setTimeout(() => finish(last), within);
};
"#
    };
}

/// `{found, displayed, enabled}` of the element a selector means (its
/// first displayed match, else its first match), in one round trip.
pub(crate) const PROBE_JS: &str = concat!(
    prelude!(),
    r#"
const el = pick(arguments[0]);
if (!el) { return { found: false, displayed: false, enabled: false }; }
return { found: true, displayed: shown(el), enabled: enabled(el) };
"#
);

/// Acts on the element a selector means if it is actionable now, or says
/// why not; it does not wait. Synchronous on purpose: the script's result
/// comes back in the same DevTools call that ran it, so an action that
/// starts a navigation is never reported lost (and tried again). The
/// waiting is [`WAIT_JS`]'s `ready`, which changes nothing in the page.
/// Arguments: selector, operation (`click`, `check`, `select`, `fill`,
/// `ready`), its argument. `ready` returns the element (`el`) for the
/// driver to act on (keys, files). `fill` returns `insert: true` when the
/// text is still to be inserted (the field is focused, its content selected).
/// Every result has the document's token (`doc`) and whether the action
/// started a navigation of it (`nav`): the driver then waits until the
/// document is replaced (`left`), so the next step never reads the page
/// being left.
pub(crate) const ACT_JS: &str = concat!(
    prelude!(),
    r#"
const [css, op, arg] = arguments;
const clickAt = (el) => {
  const p = pressPoint(el);
  if (!p.ok) { return p; }
  const x = p.x, y = p.y, hit = p.hit;
  const at = { bubbles: true, cancelable: true, composed: true, view: window,
    clientX: x, clientY: y, screenX: x + screenX, screenY: y + screenY, button: 0, detail: 1 };
  const ptr = Object.assign({ pointerId: 1, pointerType: 'mouse', isPrimary: true }, at);
  hit.dispatchEvent(new PointerEvent('pointerover', ptr));
  hit.dispatchEvent(new MouseEvent('mouseover', at));
  hit.dispatchEvent(new PointerEvent('pointermove', ptr));
  hit.dispatchEvent(new MouseEvent('mousemove', at));
  const down = hit.dispatchEvent(new PointerEvent('pointerdown', Object.assign({}, ptr, { buttons: 1 })))
    && hit.dispatchEvent(new MouseEvent('mousedown', Object.assign({}, at, { buttons: 1 })));
  if (down) {
    // What a mouse press focuses: the nearest focusable element, or nothing.
    const f = hit.closest('a[href], area[href], button, input, select, textarea, iframe, summary, [tabindex], [contenteditable]:not([contenteditable="false"])');
    if (f) {
      if (f !== document.activeElement) { f.focus({ preventScroll: true }); }
      // A press in a text field puts the caret where it pressed.
      if (typeof f.setSelectionRange === 'function' && f === document.activeElement) {
        const p = document.caretPositionFromPoint ? document.caretPositionFromPoint(x, y) : null;
        const at = p && p.offsetNode === f ? p.offset : String(f.value).length;
        try { f.setSelectionRange(at, at); } catch (e) { /* no caret in this kind of input */ }
      }
    }
    else if (document.activeElement && document.activeElement !== document.body) { document.activeElement.blur(); }
  }
  hit.dispatchEvent(new PointerEvent('pointerup', ptr));
  hit.dispatchEvent(new MouseEvent('mouseup', at));
  hit.dispatchEvent(new MouseEvent('click', at));
  return { ok: true };
};
const choose = (sel, choice) => {
  const opts = Array.from(sel.options || sel.querySelectorAll('option'));
  const opt = opts.find(o => o.value === choice)
    || opts.find(o => (o.text || '').trim() === String(choice).trim());
  if (!opt) { return { ok: false, state: 'no-option' }; }
  if (opt.disabled) { return { ok: false, state: 'disabled' }; }
  if (!opt.selected) {
    opt.selected = true;
    sel.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    sel.dispatchEvent(new Event('change', { bubbles: true }));
  }
  return { ok: true };
};
const SET_VALUE = ['date', 'time', 'datetime-local', 'month', 'week', 'color', 'range'];
const NOT_TEXT = ['checkbox', 'radio', 'file', 'button', 'submit', 'reset', 'image', 'hidden'];
const fill = (el, value) => {
  const input = el.tagName === 'INPUT';
  if (input && SET_VALUE.includes(el.type)) {
    el.focus();
    if (el.value !== value) {
      el.value = value;
      el.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }
    return el.value === value ? { ok: true, insert: false }
      : { ok: false, state: 'refused', detail: 'the ' + el.type + ' field does not take that value' };
  }
  if (!(el.isContentEditable || el.tagName === 'TEXTAREA' || (input && !NOT_TEXT.includes(el.type)))) {
    return { ok: false, state: 'refused', detail: describe(el) + ' is not a text field' };
  }
  if (el.readOnly) { return { ok: false, state: 'readonly', detail: describe(el) + ' is read-only' }; }
  intoView(el);
  el.focus();
  if (el.isContentEditable) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const s = getSelection();
    s.removeAllRanges();
    s.addRange(range);
  } else {
    el.select();
  }
  const had = el.isContentEditable ? el.textContent !== '' : el.value !== '';
  if (value === '') {
    // Clearing is deleting the selection, which fires the input events.
    if (had && !document.execCommand('delete')) {
      el.value = '';
      el.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    }
    return { ok: true, insert: false };
  }
  return { ok: true, insert: true };
};
const attempt = () => {
  const el = pick(css);
  if (!el) { return { ok: false, state: 'missing' }; }
  if (!shown(el)) { return { ok: false, state: 'hidden' }; }
  if (!enabled(el)) { return { ok: false, state: 'disabled' }; }
  switch (op) {
    case 'click': return clickAt(el);
    case 'check': return el.checked === arg ? { ok: true } : clickAt(el);
    case 'select': return choose(el, arg);
    case 'fill': return fill(el, arg);
    default: intoView(el); return { ok: true, el: el };
  }
};
const w = watchAfresh();
// A page script the action runs may submit a form with `form.submit()`,
// which fires no event: noticed while the action runs.
const proto = HTMLFormElement.prototype, submitFn = proto.submit;
proto.submit = function () { w.forced = this; return submitFn.apply(this, arguments); };
let r;
try { r = attempt(); } finally { proto.submit = submitFn; }
// A link's navigation begins within its click (`beforeunload` has fired);
// a form's begins a task later, but its `submit` event has fired.
r.doc = w.doc;
r.nav = r.ok === true && navigating(w);
return r;
"#
);

/// Watches the page for a navigation the next keys start (as [`ACT_JS`]
/// does before it acts); returns the document's token (`doc`).
pub(crate) const WATCH_JS: &str = concat!(
    prelude!(),
    r#"
return { ok: true, doc: watchAfresh().doc };
"#
);

/// Waits for a condition of the page; changes nothing in it (but the scroll
/// of `ready`). Arguments: kind, two arguments, a previous signature
/// (`rows`), how long to wait in the page (ms).
/// - `ready` (selector, needs a press point): an element action could act:
///   the element is there, displayed, enabled and (click, check) not covered;
/// - `shown` (selector, wanted): the first match is displayed, or (false)
///   is missing or hidden;
/// - `present` (selector, displayed): an element matches (and is displayed);
/// - `text` (text, selector or null): the visible text (`innerText`) of
///   the element or the page holds the text;
/// - `left` (document token, navigation known begun): the document an
///   action ran in has been replaced, or no navigation of it has begun;
/// - `url` (part): the top-level URL holds it (`unsupported` when the top
///   is another origin's);
/// - `rows` (rows selector, empty selector or null, previous signature):
///   rows are there and differ from the previous page's (their count and
///   a hash of all their text), or the empty marker is displayed.
///   The result has the rows' `sig` and whether there were rows (`had`).
pub(crate) const WAIT_JS: &str = concat!(
    prelude!(),
    r#"
const [kind, a, b, previous, within] = arguments;
const done = arguments[arguments.length - 1];
const attempt = () => {
  switch (kind) {
    case 'shown': {
      const el = pick(a);
      return { ok: (!!el && shown(el)) === b };
    }
    case 'present': {
      const el = pick(a);
      return { ok: !!el && (!b || shown(el)) };
    }
    case 'text': {
      const el = b ? document.querySelector(b) : document.body;
      return { ok: !!el && (el.innerText || '').includes(a) };
    }
    case 'ready': {
      // An element action could act now (ACT_JS's checks, nothing done).
      const el = pick(a);
      if (!el) { return { ok: false, state: 'missing' }; }
      if (!shown(el)) { return { ok: false, state: 'hidden' }; }
      if (!enabled(el)) { return { ok: false, state: 'disabled' }; }
      return b ? pressPoint(el) : { ok: true };
    }
    case 'left': {
      // The document the last action ran in (token a) is gone; or it
      // stays and no navigation of it has begun (b: one is known begun).
      const w = window.__panelwrightNav;
      if (!w || w.doc !== a) { return { ok: true, left: true }; }
      if (b || navigating(w)) { return { ok: false, state: 'navigating' }; }
      return { ok: true, left: false };
    }
    case 'url': {
      let href;
      try { href = window.top.location.href; } catch (e) { return { ok: false, state: 'unsupported', final: true }; }
      return { ok: String(href).includes(a) };
    }
    case 'rows': {
      const rows = document.querySelectorAll(a);
      if (rows.length > 0) {
        // Every row's text, hashed (FNV-1a): a header or a totals row that
        // is the same on every page does not hide a change of the others.
        let h = 0x811c9dc5;
        for (const r of rows) {
          const t = r.textContent;
          for (let i = 0; i < t.length; i++) { h = Math.imul(h ^ t.charCodeAt(i), 16777619) >>> 0; }
          h = Math.imul(h ^ 1, 16777619) >>> 0;
        }
        const sig = rows.length + ':' + h.toString(16);
        return { ok: sig !== previous, sig: sig, had: true };
      }
      const e = b ? document.querySelector(b) : null;
      return { ok: !!e && shown(e), sig: null, had: false };
    }
  }
  return { ok: false, state: 'refused', detail: 'unknown wait ' + kind };
};
waitUntil(attempt, within, done);
"#
);

/// Reads the first element matching a selector once it is there (and
/// displayed, when asked). Arguments: selector, what (`text`, `value`,
/// `attr`), attribute name, displayed, how long to wait (ms). The result
/// has the value read (`value`); text is the rendered text (`innerText`),
/// trimmed.
pub(crate) const READ_JS: &str = concat!(
    prelude!(),
    r#"
const [css, what, name, displayed, within] = arguments;
const done = arguments[arguments.length - 1];
const attempt = () => {
  const el = pick(css);
  if (!el) { return { ok: false, state: 'missing' }; }
  if (displayed && !shown(el)) { return { ok: false, state: 'hidden' }; }
  let value;
  if (what === 'text') { value = (el.innerText || '').trim(); }
  else if (what === 'value') { value = el.value === undefined || el.value === null ? '' : String(el.value); }
  else { const v = el.getAttribute(name); value = v === null ? '' : v; }
  return { ok: true, value: value };
};
waitUntil(attempt, within, done);
"#
);

/// After a navigation the driver reported as done: Chromium's own error
/// page (the URL stays the requested one, the document is
/// `chrome-error://chromewebdata/` and shows the code) gives `{net: code}`;
/// otherwise `{status}` is the HTTP status of the navigation (0 unknown).
/// An HTTP error page (`HTTP ERROR 503`) has a response: it is a status.
pub(crate) const LANDED_JS: &str = r#"
const nav = performance.getEntriesByType('navigation')[0];
const status = nav && nav.responseStatus ? nav.responseStatus : 0;
if (!String(document.documentURI).startsWith('chrome-error:')) { return { status: status }; }
const el = document.querySelector('.error-code');
const m = /ERR_[A-Z0-9_]+/.exec(el ? el.textContent : '');
if (m) { return { net: m[0] }; }
return status ? { status: status } : { net: 'ERR_FAILED' };
"#;
