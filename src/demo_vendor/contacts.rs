//! "Add billing contact": a page written like a JavaScript framework's
//! console (React / Vue controlled components), and the JSON API it posts to.
//!
//! The form's state lives in the page's script and changes only on events:
//! the name on `input` (React's `onChange`), the email on `change` (Vue's
//! `v-model.lazy`: when the field loses focus), the role and the "primary
//! contact" box on `change`, and the phone number on `keydown` alone — its
//! script builds the digits key by key and re-renders them formatted, so text
//! inserted without key events (a paste, `fill`) is put back to what the keys
//! built. Save stays disabled until the state is valid and posts the state,
//! never the DOM, so a page driven without those events cannot be saved.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{ApiSess, Sess, check_csrf_header};
use super::html::{esc, html, not_found, page};
use super::state::{CONTACT_ROLES, DemoState, NewContact, PHONE_DIGITS};

/// The page's application: the store, the render and the event handlers.
/// Configuration comes from `#contact-app`'s data attributes and the
/// `csrf-token` meta element, so the script itself is constant.
const CONTACT_APP_JS: &str = r#"
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var app = $('contact-app');
  var customerId = app.dataset.customerId;
  var phoneMin = Number(app.dataset.phoneMin), phoneMax = Number(app.dataset.phoneMax);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var form = $('contact-form'), name = $('contact-name'), email = $('contact-email'),
      role = $('contact-role'), phone = $('contact-phone'), primary = $('contact-primary'),
      save = $('save-contact'), error = $('contact-error');
  // The one source of truth: the DOM is rendered from it, never read back.
  var state = { name: '', email: '', role: '', primary: false, phone: '', saving: false, error: '' };

  function valid() {
    return state.name.trim() !== ''
      && /^[^@\s]+@[^@\s]+$/.test(state.email.trim())
      && state.role !== ''
      && state.phone.length >= phoneMin && state.phone.length <= phoneMax;
  }
  function formatted(digits) { return digits.replace(/(\d{3})(?=\d)/g, '$1 '); }
  function render() {
    if (name.value !== state.name) { name.value = state.name; }
    // A lazy field is not overwritten while it is being edited.
    if (document.activeElement !== email && email.value !== state.email) { email.value = state.email; }
    if (phone.value !== formatted(state.phone)) { phone.value = formatted(state.phone); }
    role.value = state.role;
    primary.checked = state.primary;
    $('phone-digits').textContent = String(state.phone.length);
    save.disabled = state.saving || !valid();
    error.textContent = state.error;
    error.hidden = state.error === '';
  }
  function set(changes) {
    Object.keys(changes).forEach(function (k) { state[k] = changes[k]; });
    render();
  }

  name.addEventListener('input', function (e) { set({ name: e.target.value }); });
  email.addEventListener('change', function (e) { set({ email: e.target.value }); });
  role.addEventListener('change', function (e) { set({ role: e.target.value }); });
  primary.addEventListener('change', function (e) { set({ primary: e.target.checked }); });
  phone.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var all = phone.selectionStart === 0 && phone.selectionEnd === phone.value.length;
    if (/^[0-9]$/.test(e.key)) {
      var digits = all ? '' : state.phone;
      if (digits.length < phoneMax) { digits += e.key; }
      e.preventDefault();
      set({ phone: digits });
    } else if (e.key === 'Backspace' || e.key === 'Delete') {
      e.preventDefault();
      set({ phone: all ? '' : state.phone.slice(0, -1) });
    } else if (e.key.length === 1) {
      // Spaces, '+', '-', '(': the script formats, they are not kept.
      e.preventDefault();
    }
  });
  // Text that arrives without keys (a paste, an inserted text) changes
  // nothing: the field goes back to what the keys built.
  phone.addEventListener('input', render);

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (!valid() || state.saving) { return; }
    set({ saving: true, error: '' });
    fetch('/api/customers/' + customerId + '/contacts', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ name: state.name, email: state.email, role: state.role, primary: state.primary, phone: state.phone })
    }).then(function (r) {
      if (r.status === 401) {
        window.location.href = '/login?expired=1&next=' + encodeURIComponent(window.location.pathname);
        throw new Error('session expired');
      }
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.error || ('HTTP ' + r.status)); }
        return body;
      });
    }).then(function (body) {
      form.hidden = true;
      $('contact-id').textContent = String(body.id);
      $('contact-saved').hidden = false;
    }).catch(function (e) {
      set({ saving: false, error: 'Could not save the contact: ' + e.message });
    });
  });
  render();
})();
"#;

/// `GET /customers/{id}/contacts/new`
pub async fn new_contact(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    let Some(customer) = super::pages::customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let roles: String = CONTACT_ROLES
        .iter()
        .map(|(value, label)| format!("<option value=\"{value}\">{label}</option>"))
        .collect();
    let body = format!(
        "<h1>Add billing contact for <span id=\"contact-customer\">{name}</span></h1>\n\
         <meta name=\"csrf-token\" content=\"{csrf}\">\n\
         <div id=\"contact-app\" data-customer-id=\"{id}\" data-phone-min=\"{min}\" data-phone-max=\"{max}\">\n\
         <form id=\"contact-form\" novalidate>\n\
         <label for=\"contact-name\">Name</label><input id=\"contact-name\" autocomplete=\"off\">\n\
         <label for=\"contact-email\">Email</label><input id=\"contact-email\" type=\"text\" inputmode=\"email\" autocomplete=\"off\">\n\
         <label for=\"contact-role\">Role</label><select id=\"contact-role\"><option value=\"\">Choose a role…</option>{roles}</select>\n\
         <label for=\"contact-phone\">Phone</label><input id=\"contact-phone\" type=\"tel\" autocomplete=\"off\"> \
         <small><span id=\"phone-digits\">0</span> digits</small>\n\
         <label><input id=\"contact-primary\" type=\"checkbox\"> Primary contact</label>\n\
         <div id=\"contact-error\" class=\"alert-error\" role=\"alert\" hidden></div>\n\
         <div><button id=\"save-contact\" type=\"submit\" disabled>Save</button></div>\n\
         </form>\n\
         <div id=\"contact-saved\" class=\"alert-success\" hidden>Contact <code id=\"contact-id\"></code> saved. \
         <a id=\"back-to-customer\" href=\"/customers/{id}\">Back to customer</a></div>\n\
         </div>\n\
         <p><a href=\"/customers/{id}\">Cancel</a></p>\n\
         <script>{CONTACT_APP_JS}</script>",
        name = esc(&customer.name),
        csrf = esc(&sess.csrf),
        id = customer.id,
        min = PHONE_DIGITS.start(),
        max = PHONE_DIGITS.end(),
    );
    html(StatusCode::OK, page(Some(&sess.username), &body))
}

fn refused(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// `POST /api/customers/{id}/contacts`: JSON [`NewContact`], the CSRF token in
/// `X-CSRF-Token`. `201 {"id", "contact"}`; 401 without a session, 403 for a
/// wrong token, 404 for an unknown customer, 400 for a body that is not a
/// valid contact.
pub async fn create_contact(
    State(state): State<DemoState>,
    ApiSess(sess): ApiSess,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = check_csrf_header(&sess, &headers) {
        return r;
    }
    let Some(customer_id) = super::pages::parse_id(&id) else {
        return refused(StatusCode::NOT_FOUND, "unknown customer");
    };
    let new = match serde_json::from_slice::<NewContact>(&body) {
        Ok(new) => new,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let new = match new.validate() {
        Ok(new) => new,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let mut store = state.lock();
    let Some(contact_id) = store.add_contact(customer_id, new) else {
        return refused(StatusCode::NOT_FOUND, "unknown customer");
    };
    let contact = store
        .customers
        .get(&customer_id)
        .and_then(|c| c.contacts.iter().find(|c| c.id == contact_id))
        .cloned();
    drop(store);
    (
        StatusCode::CREATED,
        Json(json!({ "id": contact_id, "contact": contact })),
    )
        .into_response()
}
