//! Parsing and validation of playbooks: every error message, with its line,
//! column and step path, pinned by the snapshots in `snapshots/validation/`.
//!
//! Most sources start with [`HEAD`] (four lines), so the first line of a
//! case's body is line 5 of the file.

use super::*;
use std::path::Path;
use std::sync::Arc;

/// A valid `[playbook]` table of four lines.
const HEAD: &str = r###"[playbook]
name = "t"
vendor = "v"
secrets = ["login.password", "login.totp_seed"]
"###;

fn render(src: &str) -> String {
    match Playbook::parse(Path::new("test.toml"), src) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

fn snap(name: &str, src: &str) {
    let out = render(src);
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/validation"),
        prepend_module_to_snapshot => false,
        description => src,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, out);
    });
}

/// `body` (top-level keys such as `steps = [...]`, which would otherwise
/// belong to `[playbook]`) followed by `HEAD`: the body starts on line 1.
fn before_head(body: &str) -> String {
    format!("{body}{HEAD}")
}

/// `HEAD` followed by `body`.
fn with_head(body: &str) -> String {
    format!("{HEAD}{body}")
}

fn errors(src: &str) -> Vec<PlaybookError> {
    Playbook::parse(Path::new("test.toml"), src)
        .expect_err("expected validation errors")
        .0
}

fn ok(src: &str) -> Playbook {
    match Playbook::parse(Path::new("test.toml"), src) {
        Ok(p) => p,
        Err(e) => panic!("expected a valid playbook, got:\n{e}"),
    }
}

// --- file level --------------------------------------------------------------

#[test]
fn toml_syntax_error() {
    snap(
        "toml_syntax_error",
        &with_head("[[steps]]\nclick = \"#a\n\n[[steps]]\nclick = \"#b\"\n"),
    );
}

#[test]
fn toml_duplicate_key() {
    snap(
        "toml_duplicate_key",
        &with_head("[[steps]]\nclick = \"#a\"\nclick = \"#b\"\n"),
    );
}

#[test]
fn unknown_top_level_key() {
    snap(
        "unknown_top_level_key",
        &with_head("[param]\nx = { type = \"string\" }\n\n[[steps]]\nclick = \"#a\"\n"),
    );
}

#[test]
fn missing_playbook_table() {
    snap("missing_playbook_table", "[[steps]]\nclick = \"#a\"\n");
}

#[test]
fn missing_playbook_and_steps() {
    snap("missing_playbook_and_steps", "# empty\n");
}

#[test]
fn playbook_not_a_table() {
    snap(
        "playbook_not_a_table",
        "playbook = \"t\"\n\n[[steps]]\nclick = \"#a\"\n",
    );
}

#[test]
fn unknown_key_in_playbook() {
    snap(
        "unknown_key_in_playbook",
        "[playbook]\nname = \"t\"\nvendor = \"v\"\nsecret = [\"x\"]\n\n[[steps]]\nclick = \"#a\"\n",
    );
}

#[test]
fn missing_vendor_in_playbook() {
    snap(
        "missing_vendor_in_playbook",
        "[playbook]\nname = \"t\"\n\n[[steps]]\nclick = \"#a\"\n",
    );
}

#[test]
fn bad_playbook_timeout() {
    snap(
        "bad_playbook_timeout",
        "[playbook]\nname = \"t\"\nvendor = \"v\"\ntimeout = \"soon\"\n\n[[steps]]\nclick = \"#a\"\n",
    );
}

#[test]
fn bad_and_duplicate_secret_names() {
    snap(
        "bad_and_duplicate_secret_names",
        "[playbook]\nname = \"t\"\nvendor = \"v\"\nsecrets = [\"login password\", \"a.b\", \"a.b\"]\n\n[[steps]]\nclick = \"#a\"\n",
    );
}

#[test]
fn no_steps() {
    snap("no_steps", HEAD);
}

#[test]
fn steps_as_single_table() {
    snap(
        "steps_as_single_table",
        &with_head("[steps]\nclick = \"#a\"\n"),
    );
}

#[test]
fn flows_not_a_table() {
    snap(
        "flows_not_a_table",
        &before_head("flows = 5\n\n[[steps]]\nclick = \"#a\"\n"),
    );
}

#[test]
fn flow_as_single_table() {
    snap(
        "flow_as_single_table",
        &with_head("[flows.login]\nclick = \"#a\"\n\n[[steps]]\ncall = \"login\"\n"),
    );
}

#[test]
fn step_not_a_table() {
    snap("step_not_a_table", &before_head("steps = [\"#a\"]\n"));
}

// --- step shape --------------------------------------------------------------

#[test]
fn unknown_key_in_step() {
    snap(
        "unknown_key_in_step",
        &with_head("[[steps]]\nfil = \"#name\"\nwith = \"x\"\n"),
    );
}

#[test]
fn unknown_key_in_inline_step() {
    snap(
        "unknown_key_in_inline_step",
        &with_head(
            "[[steps]]\nif_present = \"#a\"\nthen = [\n  { click = \"#b\" },\n  { click = \"#c\", tiemout = \"5s\" },\n]\n",
        ),
    );
}

#[test]
fn wrong_value_type_in_step() {
    snap(
        "wrong_value_type_in_step",
        &with_head(
            "[[steps]]\nclick = 5\n\n[[steps]]\ncapture = \"x\"\nfrom = \"#x\"\nsecret = \"yes\"\n",
        ),
    );
}

#[test]
fn step_with_no_action() {
    snap(
        "step_with_no_action",
        &with_head("[[steps]]\nwith = \"x\"\ntimeout = \"5s\"\n"),
    );
}

#[test]
fn empty_step() {
    snap(
        "empty_step",
        &with_head("[[steps]]\n\n[[steps]]\nclick = \"#a\"\n"),
    );
}

#[test]
fn step_with_two_actions() {
    snap(
        "step_with_two_actions",
        &with_head("[[steps]]\nclick = \"#a\"\ngoto = \"/x\"\n"),
    );
}

#[test]
fn step_with_three_actions_inline() {
    snap(
        "step_with_three_actions_inline",
        &before_head(
            "steps = [{ name = \"n\", fill = \"#a\", with = \"x\", click = \"#b\", goto = \"/\" }]\n",
        ),
    );
}

#[test]
fn modifier_that_does_not_apply() {
    snap(
        "modifier_that_does_not_apply",
        &with_head("[[steps]]\nclick = \"#a\"\nwith = \"x\"\n"),
    );
}

#[test]
fn modifiers_that_do_not_apply_to_fill() {
    snap(
        "modifiers_that_do_not_apply_to_fill",
        &with_head(
            "[[steps]]\nfill = \"#a\"\nwith = \"x\"\noption = \"y\"\nthen = [{ click = \"#b\" }]\n",
        ),
    );
}

#[test]
fn missing_with_on_fill() {
    snap(
        "missing_with_on_fill",
        &with_head("[[steps]]\nfill = \"#a\"\n"),
    );
}

#[test]
fn missing_fields_on_extract() {
    snap(
        "missing_fields_on_extract",
        &with_head("[[steps]]\nextract = \"rows\"\nfrom = \"tr\"\n"),
    );
}

#[test]
fn missing_from_and_fields_on_extract() {
    snap(
        "missing_from_and_fields_on_extract",
        &with_head("[[steps]]\nextract = \"rows\"\n"),
    );
}

#[test]
fn missing_required_modifiers_of_each_action() {
    snap(
        "missing_required_modifiers_of_each_action",
        &before_head(
            r###"steps = [
  { select = "#a" },
  { upload = "#a" },
  { capture = "c" },
  { if_present = "#a" },
  { if = "params.x" },
  { for_each = "params.x" },
  { totp = "login.totp_seed" },
  { download = "a" },
  { frame = "iframe" },
]
"###,
        ),
    );
}

// --- selectors ---------------------------------------------------------------

#[test]
fn invalid_css_selector() {
    snap(
        "invalid_css_selector",
        &with_head("[[steps]]\nclick = \"button[type=\"\n"),
    );
}

#[test]
fn empty_css_selector() {
    snap(
        "empty_css_selector",
        &with_head("[[steps]]\nwait_for = \"  \"\n"),
    );
}

#[test]
fn invalid_templated_css_selector() {
    snap(
        "invalid_templated_css_selector",
        &with_head(
            "[params]\na = { type = \"string\", required = true }\n\n[[steps]]\nclick = \"tr[data-x='{{ params.a }}'] >\"\n\n[[steps]]\nclick = \"tr[data-x={{ params.a }} td\"\n",
        ),
    );
}

#[test]
fn unclosed_attribute_selector_is_accepted() {
    // The CSS parser closes a `[` left open at the end of the selector, so
    // these typos pass validation (see the report: arguably a missed error).
    snap(
        "unclosed_attribute_selector_is_accepted",
        &with_head(
            "[params]\na = { type = \"string\", required = true }\n\n[[steps]]\nclick = \"tr[data-x='a'\"\n\n[[steps]]\nclick = \"tr[data-x='{{ params.a }}'\"\n",
        ),
    );
}

#[test]
fn steps_key_inside_playbook_table() {
    // `steps = [...]` written after `[playbook]` belongs to that table.
    snap(
        "steps_key_inside_playbook_table",
        &with_head("steps = [{ click = \"#a\" }]\n"),
    );
}

#[test]
fn invalid_selectors_in_modifiers() {
    snap(
        "invalid_selectors_in_modifiers",
        &before_head(
            r###"steps = [
  { press = "Enter", on = "#" },
  { wait_text = "Saved", in = ">>" },
  { capture = "c", from = "a[" },
  { download = "a:nope", save_as = "d" },
]
"###,
        ),
    );
}

#[test]
fn invalid_selectors_in_extract() {
    snap(
        "invalid_selectors_in_extract",
        &with_head(
            r###"[[steps]]
extract = "rows"
from = "tr["
fields = { a = "td" }
next = "a..next"
max_pages = 3
empty = "p!"
"###,
        ),
    );
}

#[test]
fn invalid_field_selector_in_extract() {
    snap(
        "invalid_field_selector_in_extract",
        &with_head(
            r###"[[steps]]
extract = "rows"
from = "tr"
fields = { name = "td.name", seats = "td..seats", id = { css = "a[", attr = "href" }, empty = {} }
"###,
        ),
    );
}

#[test]
fn extract_field_with_unknown_key() {
    snap(
        "extract_field_with_unknown_key",
        &with_head(
            "[[steps]]\nextract = \"rows\"\nfrom = \"tr\"\nfields = { id = { atr = \"href\" } }\n",
        ),
    );
}

#[test]
fn extract_empty_fields_and_bad_pages() {
    snap(
        "extract_empty_fields_and_bad_pages",
        &with_head(
            r###"[[steps]]
extract = "a"
from = "tr"
fields = {}

[[steps]]
extract = "b"
from = "tr"
fields = { x = "td" }
max_pages = 0
next = "a.next"

[[steps]]
extract = "c"
from = "tr"
fields = { x = "td" }
max_pages = 5
"###,
        ),
    );
}

#[test]
fn templated_nth_child_selector() {
    // A placeholder in an `:nth-child()` argument is a reasonable selector
    // (the index comes from an int parameter).
    snap(
        "templated_nth_child_selector",
        &with_head(
            "[params]\nrow = { type = \"int\", default = 2 }\n\n[[steps]]\nclick = \"table tr:nth-child({{ params.row }}) a\"\n",
        ),
    );
}

// --- variables ---------------------------------------------------------------

#[test]
fn undeclared_param() {
    snap(
        "undeclared_param",
        &with_head("[[steps]]\nfill = \"#a\"\nwith = \"{{ params.nope }}\"\n"),
    );
}

#[test]
fn undeclared_secret() {
    snap(
        "undeclared_secret",
        &with_head("[[steps]]\nfill = \"#a\"\nwith = \"{{ secrets.login.passwd }}\"\n"),
    );
}

#[test]
fn undeclared_capture() {
    snap(
        "undeclared_capture",
        &with_head("[[steps]]\ngoto = \"{{ vendor.base_url }}/c/{{ captures.id }}\"\n"),
    );
}

#[test]
fn unknown_vendor_var() {
    snap(
        "unknown_vendor_var",
        &with_head("[[steps]]\ngoto = \"{{ vendor.url }}/login\"\n"),
    );
}

#[test]
fn unknown_namespace() {
    snap(
        "unknown_namespace",
        &with_head("[[steps]]\ngoto = \"{{ param.x }}\"\n"),
    );
}

#[test]
fn unknown_namespace_inside_loop_lists_aliases() {
    snap(
        "unknown_namespace_inside_loop_lists_aliases",
        &with_head(
            r###"[params]
devices = { type = "list", fields = { serial = "string" }, required = true }

[[steps]]
for_each = "params.devices"
as = "device"
do = [{ fill = "#a", with = "{{ dev.serial }}" }]
"###,
        ),
    );
}

#[test]
fn unknown_loop_alias_field() {
    snap(
        "unknown_loop_alias_field",
        &with_head(
            r###"[params]
devices = { type = "list", fields = { serial = "string", quota = "int" }, required = true }

[[steps]]
for_each = "params.devices"
as = "device"
key = "{{ device.id }}"
do = [{ fill = "#a", with = "{{ device.serail }}" }]
"###,
        ),
    );
}

#[test]
fn loop_alias_used_outside_loop() {
    snap(
        "loop_alias_used_outside_loop",
        &with_head(
            r###"[params]
devices = { type = "list", fields = { serial = "string" }, required = true }

[[steps]]
for_each = "params.devices"
do = [{ fill = "#a", with = "{{ row.serial }}" }]

[[steps]]
fill = "#b"
with = "{{ row.serial }}"
"###,
        ),
    );
}

#[test]
fn unknown_field_of_extracted_rows() {
    snap(
        "unknown_field_of_extracted_rows",
        &with_head(
            r###"[[steps]]
extract = "customers"
from = "tr"
fields = { name = "td.name" }

[[steps]]
for_each = "captures.customers"
as = "c"
do = [{ fill = "#a", with = "{{ c.name }} {{ c.seats }}" }]
"###,
        ),
    );
}

#[test]
fn list_param_in_template() {
    snap(
        "list_param_in_template",
        &with_head(
            "[params]\ndevices = { type = \"list\", fields = { serial = \"string\" }, required = true }\n\n[[steps]]\nfill = \"#a\"\nwith = \"{{ params.devices }}\"\n",
        ),
    );
}

#[test]
fn rows_capture_in_template() {
    snap(
        "rows_capture_in_template",
        &with_head(
            "[[steps]]\nextract = \"rows\"\nfrom = \"tr\"\nfields = { a = \"td\" }\n\n[[steps]]\nfill = \"#a\"\nwith = \"{{ captures.rows }}\"\n",
        ),
    );
}

#[test]
fn template_syntax_errors() {
    snap(
        "template_syntax_errors",
        &with_head(
            r###"[params]
a = { type = "string", required = true }

[[steps]]
goto = "/x?q={{ params.a"

[[steps]]
goto = "/x?q={{ a }}"

[[steps]]
goto = "/x?q={{ params.a | shout }}"

[[steps]]
goto = "/x?q=}}"
"###,
        ),
    );
}

#[test]
fn several_bad_vars_in_one_template() {
    snap(
        "several_bad_vars_in_one_template",
        &with_head("[[steps]]\ngoto = \"{{ params.a }}/{{ captures.b }}/{{ vendor.c }}\"\n"),
    );
}

#[test]
fn for_each_over_scalar() {
    snap(
        "for_each_over_scalar",
        &with_head(
            r###"[params]
name = { type = "string", required = true }

[[steps]]
for_each = "params.name"
do = [{ click = "#a" }]

[[steps]]
capture = "title"
from = "h1"

[[steps]]
for_each = "captures.title"
do = [{ click = "#a" }]
"###,
        ),
    );
}

#[test]
fn for_each_bad_sources() {
    snap(
        "for_each_bad_sources",
        &before_head(
            r###"steps = [
  { for_each = "params.nope", do = [{ click = "#a" }] },
  { for_each = "captures.nope", do = [{ click = "#a" }] },
  { for_each = "secrets.login.password", do = [{ click = "#a" }] },
  { for_each = "devices", do = [{ click = "#a" }] },
  { for_each = "{{ params.devices }}", do = [{ click = "#a" }] },
]
"###,
        ),
    );
}

#[test]
fn for_each_alias_hides_namespace() {
    snap(
        "for_each_alias_hides_namespace",
        &with_head(
            "[params]\nd = { type = \"list\", fields = { s = \"string\" }, required = true }\n\n[[steps]]\nfor_each = \"params.d\"\nas = \"params\"\ndo = [{ click = \"#a\" }]\n",
        ),
    );
}

#[test]
fn if_var_conditions() {
    snap(
        "if_var_conditions",
        &with_head(
            r###"[params]
devices = { type = "list", fields = { s = "string" }, required = true }

[[steps]]
if = "params.devices"
then = [{ click = "#a" }]

[[steps]]
unless = "params.nope"
then = [{ click = "#a" }]

[[steps]]
if = "{{ params.devices }}"
then = [{ click = "#a" }]
"###,
        ),
    );
}

#[test]
fn totp_undeclared_secret() {
    snap(
        "totp_undeclared_secret",
        &with_head("[[steps]]\ntotp = \"login.seed\"\nsave_as = \"otp\"\n"),
    );
}

// --- flows -------------------------------------------------------------------

#[test]
fn unknown_flow() {
    snap(
        "unknown_flow",
        &with_head("[[flows.login]]\nclick = \"#a\"\n\n[[steps]]\ncall = \"logon\"\n"),
    );
}

#[test]
fn unknown_flow_none_defined() {
    snap(
        "unknown_flow_none_defined",
        &with_head("[[steps]]\ncall = \"login\"\n"),
    );
}

#[test]
fn flow_calls_itself_directly() {
    snap(
        "flow_calls_itself_directly",
        &with_head(
            "[[flows.login]]\nclick = \"#a\"\n\n[[flows.login]]\ncall = \"login\"\n\n[[steps]]\ncall = \"login\"\n",
        ),
    );
}

#[test]
fn flow_calls_itself_via_another_flow() {
    snap(
        "flow_calls_itself_via_another_flow",
        &with_head(
            r###"[[flows.a]]
call = "b"

[[flows.b]]
if_present = "#x"
then = [{ call = "c" }]

[[flows.c]]
call = "a"

[[steps]]
call = "a"
"###,
        ),
    );
}

// --- captures ----------------------------------------------------------------

#[test]
fn duplicate_capture_names() {
    snap(
        "duplicate_capture_names",
        &with_head(
            r###"[[steps]]
capture = "id"
from = "#id"

[[steps]]
extract = "id"
from = "tr"
fields = { a = "td" }

[[steps]]
totp = "login.totp_seed"
save_as = "id"
"###,
        ),
    );
}

#[test]
fn duplicate_capture_between_flow_and_steps() {
    snap(
        "duplicate_capture_between_flow_and_steps",
        &with_head(
            r###"[[steps]]
call = "f"

[[steps]]
capture = "id"
from = "#id"

[[flows.f]]
capture = "id"
from = "#id"
"###,
        ),
    );
}

#[test]
fn invalid_capture_names() {
    snap(
        "invalid_capture_names",
        &before_head(
            "steps = [\n  { capture = \"a b\", from = \"#a\" },\n  { capture = \"\", from = \"#a\" },\n  { download = \"a\", save_as = \"x.y\" },\n]\n",
        ),
    );
}

#[test]
fn capture_read_and_attr() {
    snap(
        "capture_read_and_attr",
        &before_head(
            r###"steps = [
  { capture = "a", from = "#a", read = "html" },
  { capture = "b", from = "#b", read = "value", attr = "href" },
  { capture = "c", from = "#c", read = "value" },
  { capture = "d", from = "#d", attr = "href" },
]
"###,
        ),
    );
}

/// A capture used before any step could have captured it: in a step
/// above the capture, before a `totp` or `download` `save_as`, inside a
/// flow called too early, in a loop body above the capture.
#[test]
fn capture_used_before_it_is_captured() {
    snap(
        "capture_used_before_it_is_captured",
        &with_head(
            r###"[[steps]]
fill = "#otp"
with = "{{ captures.otp }}"

[[steps]]
totp = "login.totp_seed"
save_as = "otp"

[[steps]]
goto = "{{ vendor.base_url }}/files/{{ captures.csv_path }}"

[[steps]]
call = "open"

[[steps]]
capture = "id"
from = "#id"

[[steps]]
download = "a#csv"
save_as = "csv_path"
parse = "none"

[[steps]]
for_each = "captures.rows"
do = [{ click = "#{{ captures.inner }}" }, { capture = "inner", from = "#inner" }]

[[steps]]
extract = "rows"
from = "tr"
fields = { a = "td" }

[[flows.open]]
click = "#customer-{{ captures.id }}"
"###,
        ),
    );
}

/// "Could have captured" counts either branch of an earlier condition, an
/// earlier loop or frame, an earlier called flow, and an earlier step of
/// the same flow.
#[test]
fn capture_from_a_branch_a_flow_or_a_loop_counts() {
    ok(&with_head(
        r###"[[steps]]
if_present = "#a"
then = [{ capture = "from_then", from = "#a" }]
else = [{ capture = "from_else", from = "#b" }]

[[steps]]
click = "#{{ captures.from_then }}-{{ captures.from_else }}"

[[steps]]
call = "login"

[[steps]]
fill = "#otp"
with = "{{ captures.otp }}"

[[steps]]
frame = "iframe"
steps = [{ capture = "in_frame", from = "#f" }]

[[steps]]
for_each = "params.devices"
do = [{ capture = "in_loop", from = "#l" }, { click = "#{{ captures.in_loop }}" }]

[[steps]]
assert_text = "{{ captures.in_frame }} {{ captures.in_loop }}"

[[steps]]
unless = "captures.in_frame"
then = [{ click = "#x" }]

[[flows.login]]
totp = "login.totp_seed"
save_as = "otp"

[[flows.login]]
fill = "#code"
with = "{{ captures.otp }}"

[params]
devices = { type = "list", fields = { serial = "string" }, default = [] }
"###,
    ));
}

// --- params ------------------------------------------------------------------

#[test]
fn param_default_wrong_type() {
    snap(
        "param_default_wrong_type",
        &with_head(
            r###"[params]
seats = { type = "int", default = "x" }
price = { type = "decimal", default = 4.5 }
enabled = { type = "bool", default = "maybe" }
name = { type = "string", default = 5 }
ratio = { type = "int", default = 2.5 }

[[steps]]
click = "#a"
"###,
        ),
    );
}

#[test]
fn param_default_text_for_bool_and_int() {
    // Defaults written as strings are converted like CLI text.
    snap(
        "param_default_text_for_bool_and_int",
        &with_head(
            r###"[params]
enabled = { type = "bool", default = "true" }
seats = { type = "int", default = "5" }

[[steps]]
click = "#a"
"###,
        ),
    );
}

#[test]
fn unknown_param_type() {
    snap(
        "unknown_param_type",
        &with_head("[params]\nseats = { type = \"integer\" }\n\n[[steps]]\nclick = \"#a\"\n"),
    );
}

#[test]
fn list_param_without_fields() {
    snap(
        "list_param_without_fields",
        &with_head(
            "[params]\ndevices = { type = \"list\", required = true }\n\n[[steps]]\nclick = \"#a\"\n",
        ),
    );
}

#[test]
fn list_param_bad_field_types_and_fields_on_scalar() {
    snap(
        "list_param_bad_field_types_and_fields_on_scalar",
        &with_head(
            r###"[params]
devices = { type = "list", fields = { serial = "text", sub = "list" }, required = true }
name = { type = "string", fields = { a = "string" }, required = true }

[[steps]]
click = "#a"
"###,
        ),
    );
}

#[test]
fn list_param_bad_default() {
    snap(
        "list_param_bad_default",
        &with_head(
            r###"[params]
devices = { type = "list", fields = { serial = "string", quota = "int" }, default = [{ serial = "a" }] }

[[steps]]
click = "#a"
"###,
        ),
    );
}

#[test]
fn required_and_default() {
    snap(
        "required_and_default",
        &with_head(
            "[params]\nseats = { type = \"int\", required = true, default = 5 }\n\n[[steps]]\nclick = \"#a\"\n",
        ),
    );
}

#[test]
fn param_table_form_errors() {
    snap(
        "param_table_form_errors",
        &with_head(
            "[params.seats]\ntype = \"int\"\ndefault = \"many\"\n\n[params.region]\ntype = \"sting\"\n\n[[steps]]\nclick = \"#a\"\n",
        ),
    );
}

#[test]
fn param_unknown_key_and_not_a_table() {
    snap(
        "param_unknown_key_and_not_a_table",
        &with_head(
            "[params]\nseats = { type = \"int\", defualt = 5 }\nname = \"string\"\n\n[[steps]]\nclick = \"#a\"\n",
        ),
    );
}

#[test]
fn param_without_required_or_default() {
    snap(
        "param_without_required_or_default",
        &with_head(
            r###"[params]
name = { type = "string" }
seats = { type = "int", required = false }
devices = { type = "list", fields = { serial = "string" } }
ok_required = { type = "string", required = true }
ok_default = { type = "int", default = 1 }

[[steps]]
click = "#a"
"###,
        ),
    );
}

// --- other step arguments ----------------------------------------------------

#[test]
fn bad_step_timeout() {
    snap(
        "bad_step_timeout",
        &with_head(
            "[[steps]]\nclick = \"#a\"\ntimeout = \"soon\"\n\n[[steps]]\nclick = \"#b\"\ntimeout = \"5 s\"\n",
        ),
    );
}

#[test]
fn bad_if_present_wait() {
    snap(
        "bad_if_present_wait",
        &with_head("[[steps]]\nif_present = \"#a\"\nwait = \"2h\"\nthen = [{ click = \"#b\" }]\n"),
    );
}

#[test]
fn unknown_key_name_in_press() {
    snap(
        "unknown_key_name_in_press",
        &with_head("[[steps]]\npress = \"Control+Entr\"\n"),
    );
}

#[test]
fn bad_read_value() {
    snap(
        "bad_read_value",
        &with_head("[[steps]]\ncapture = \"x\"\nfrom = \"#x\"\nread = \"innerHTML\"\n"),
    );
}

#[test]
fn fail_with_bad_class() {
    snap(
        "fail_with_bad_class",
        &with_head("[[steps]]\nfail = \"nope\"\nclass = \"fatal\"\n"),
    );
}

#[test]
fn bad_download_parse_and_screenshot_name() {
    snap(
        "bad_download_parse_and_screenshot_name",
        &with_head(
            "[[steps]]\ndownload = \"a\"\nsave_as = \"f\"\nparse = \"json\"\n\n[[steps]]\nscreenshot = \"after save\"\n",
        ),
    );
}

/// Literal upload files are looked up now, in the playbook's folder (the
/// working directory for `test.toml`, i.e. the repository); templated
/// ones are checked when the run renders them.
#[test]
fn upload_of_a_missing_or_outside_literal_file() {
    snap(
        "upload_of_a_missing_or_outside_literal_file",
        &with_head(
            r###"[params]
logo = { type = "string", default = "x.png" }

[[steps]]
upload = "#logo"
file = "playbooks/demo-backup/assets/missing.png"

[[steps]]
upload = "#logo"
file = "../outside.png"

[[steps]]
upload = "#logo"
file = "/etc/passwd"

[[steps]]
upload = "#logo"
file = "playbooks/demo-backup/assets"

[[steps]]
upload = "#logo"
file = "playbooks/demo-backup/assets/msp-logo.png"

[[steps]]
upload = "#logo"
file = "{{ params.logo }}"
"###,
        ),
    );
}

/// Messages use TOML's words for types, never Rust's (`i64`, `map`), and
/// quote at most an excerpt of a long value.
#[test]
fn type_errors_in_toml_words_with_short_excerpts() {
    let long = "the whole of a pasted file ".repeat(20);
    snap(
        "type_errors_in_toml_words_with_short_excerpts",
        &with_head(&format!(
            r###"[[steps]]
extract = "rows"
from = "tr"
fields = {{ a = "td" }}
next = "a.next"
max_pages = "lots"

[[steps]]
extract = "more"
from = "tr"
fields = 3

[[steps]]
capture = "x"
from = "#x"
secret = "{long}"

[[steps]]
click = "#a["
name = "{long}"

[[steps]]
wait_for = ["#a"]

[[steps]]
fill = "#a{long}["
with = "x"
"###
        )),
    );
}

/// An include outside the playbooks folder is refused unread: the error
/// names the include, never the content of the file it points at.
#[test]
fn includes_stay_inside_the_playbooks_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("playbooks");
    std::fs::create_dir_all(root.join("vendor/flows")).unwrap();
    std::fs::write(dir.path().join("canary.toml"), "canary-outside-line\n").unwrap();
    std::fs::write(
        root.join("shared.toml"),
        "[[flows.shared]]\nclick = \"#s\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("canary.toml"),
        root.join("vendor/flows/link.toml"),
    )
    .unwrap();
    let main = root.join("vendor/p.toml");
    let src = |include: &str| {
        format!(
            "[playbook]\nname = \"p\"\nvendor = \"v\"\ninclude = [\"{include}\"]\n\n[[steps]]\nclick = \"#a\"\n"
        )
    };
    for include in ["../../canary.toml", "flows/link.toml", "/etc/passwd"] {
        std::fs::write(&main, src(include)).unwrap();
        let err = Playbook::load_within(&root, &main).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "cannot include `{include}`: it is outside the playbooks folder"
            )),
            "{err}"
        );
        assert!(
            !err.contains("canary-outside-line") && !err.contains("root:"),
            "{err}"
        );
    }
    // Inside the root but outside the playbook's own folder: fine for a
    // job (root = the playbooks folder), refused for `check` of the file
    // alone (root = its folder).
    std::fs::write(&main, src("../shared.toml")).unwrap();
    assert!(Playbook::load_within(&root, &main).is_ok());
    assert!(Playbook::load(&main).is_err());
}

// --- nested paths and locations ----------------------------------------------

#[test]
fn nested_error_in_then() {
    snap(
        "nested_error_in_then",
        &with_head(
            r###"[[steps]]
click = "#a"

[[steps]]
click = "#b"

[[steps]]
if_present = "#c"
then = [
  { click = "#d" },
  { fill = "#e", with = "{{ params.nope }}" },
]
else = [{ click = "#f", with = "x" }]
"###,
        ),
    );
}

#[test]
fn nested_error_in_flow() {
    snap(
        "nested_error_in_flow",
        &with_head(
            r###"[[flows.login]]
goto = "/login"

[[flows.login]]
click = "##sign-in"

[[steps]]
call = "login"
"###,
        ),
    );
}

#[test]
fn nested_error_in_for_each_then() {
    snap(
        "nested_error_in_for_each_then",
        &with_head(
            r###"[params]
devices = { type = "list", fields = { serial = "string" }, required = true }

[[steps]]
click = "#a"

[[steps]]
for_each = "params.devices"
do = [
  { if_missing = "tr[data-serial='{{ row.serial | css }}']", then = [
      { fill = "#serial", with = "{{ row.serial }}", option = "x" },
  ] },
]
"###,
        ),
    );
}

#[test]
fn nested_error_in_frame() {
    snap(
        "nested_error_in_frame",
        &with_head(
            "[[steps]]\nframe = \"iframe#billing\"\nsteps = [\n  { capture = \"plan\", from = \"#plan\" },\n  { capture = \"period\", from = \"#period[\" },\n]\n",
        ),
    );
}

#[test]
fn inline_table_columns_count_characters() {
    // `ü` and `→` are one column each, though several bytes.
    snap(
        "inline_table_columns_count_characters",
        &before_head("steps = [{ name = \"Zürich → Genf\", click = \"##\" }]\n"),
    );
}

#[test]
fn crlf_line_endings() {
    let src =
        with_head("[[steps]]\nclick = \"#a\"\n\n[[steps]]\nclick = \"#\"\n").replace('\n', "\r\n");
    snap("crlf_line_endings", &src);
}

#[test]
fn nested_steps_under_invalid_parent() {
    // Errors inside a step whose own condition or modifiers are wrong.
    snap(
        "nested_steps_under_invalid_parent",
        &with_head(
            r###"[[steps]]
if_present = "#a["
then = [{ click = "##b" }]

[[steps]]
if = "params.nope"
then = [{ click = "##c" }]

[[steps]]
for_each = "params.nope"
do = [{ click = "##d" }]

[[steps]]
if_missing = "#e"
with = "x"
then = [{ click = "##f" }]
"###,
        ),
    );
}

#[test]
fn cascading_errors_from_skipped_declarations() {
    // A step or parameter that fails to parse is left out; later uses of
    // what it declares are then reported too.
    snap(
        "cascading_errors_from_skipped_declarations",
        &with_head(
            r###"[params]
seats = { type = "integer", default = 5 }

[[steps]]
capture = "id"
from = "#id"
secert = true

[[steps]]
fill = "#seats"
with = "{{ params.seats }}"

[[steps]]
goto = "/c/{{ captures.id }}"
"###,
        ),
    );
}

#[test]
fn two_unknown_keys_in_one_step() {
    snap(
        "two_unknown_keys_in_one_step",
        &with_head("[[steps]]\nfil = \"#a\"\nwiht = \"x\"\n"),
    );
}

// --- many errors in one file -------------------------------------------------

const MANY_ERRORS: &str = r###"[playbook]
name = "t"
vendor = "v"
timeout = "soon"

[params]
seats = { type = "int", default = "x" }

[[flows.login]]
click = "#a"
with = "x"

[[steps]]
call = "logon"

[[steps]]
fill = "#a"

[[steps]]
goto = "{{ params.nope }}"

[[steps]]
if_present = "#b"
then = [
  { click = "#ok" },
  { press = "Entr" },
]

[[steps]]
fil = "#c"

[[steps]]
wait_for = "div["
"###;

#[test]
fn many_errors_in_source_order() {
    snap("many_errors_in_source_order", MANY_ERRORS);
    let errs = errors(MANY_ERRORS);
    assert_eq!(errs.len(), 9, "{}", PlaybookErrors(errs.clone()));
    let positions: Vec<(usize, usize)> = errs.iter().map(|e| (e.line, e.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "errors are in source order");
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "playbook.timeout",
            "params.seats",
            "flows.login[0]",
            "steps[0]",
            "steps[1]",
            "steps[2]",
            "steps[3].then[1]",
            "steps[4]",
            "steps[5]",
        ]
    );
    assert!(errs.iter().all(|e| e.file == Path::new("test.toml")));
}

// --- valid playbooks ---------------------------------------------------------

const COMPLEX: &str = r###"[playbook]
name = "acme.complex"
vendor = "acme"
description = "Everything at once"
secrets = ["login.username", "login.password", "login.totp_seed"]
timeout = "20s"

[params]
customer = { type = "string", required = true }
seats = { type = "int", default = 5 }
price = { type = "decimal", default = "4.50" }
notify = { type = "bool", default = false }
devices = { type = "list", fields = { serial = "string", quota = "int" }, required = true }

[[flows.login]]
goto = "{{ vendor.base_url }}/login"

[[flows.login]]
fill = "#user"
with = "{{ secrets.login.username }}"

[[flows.login]]
fill = "#pass"
with = "{{ secrets.login.password }}"

[[flows.login]]
totp = "login.totp_seed"
save_as = "otp"

[[flows.login]]
fill = "#otp"
with = "{{ captures.otp }}"
timeout = "500ms"

[[flows.login]]
press = "Control+Enter"
on = "#otp"

[[flows.open]]
call = "login"

[[flows.open]]
click = "tr[data-customer='{{ params.customer | css }}'] a"
name = "open the customer"

[[steps]]
call = "open"

[[steps]]
if_present = ".banner"
wait = "2s"
then = [{ click = ".banner .close" }]
else = [{ wait_text = "Welcome", in = "h1" }]

[[steps]]
for_each = "params.devices"
as = "device"
key = "{{ device.serial }}"
do = [
  { unless = "params.notify", then = [{ uncheck = "#notify" }] },
  { fill = "#serial", with = "{{ device.serial }}" },
  { fill = "#quota", with = "{{ device.quota }}" },
  { capture = "licence", from = "#licence", secret = true },
]

[[steps]]
frame = "iframe#billing"
steps = [
  { capture = "plan", from = "#plan", read = "value" },
  { capture = "link", from = "a.invoice", attr = "href" },
]

[[steps]]
extract = "customers"
from = "table#customers tr.row"
fields = { id = { attr = "data-id" }, name = "td.name", seats = { css = "td.seats", attr = "title" } }
next = "a.next"
max_pages = 10
empty = "p.empty"

[[steps]]
for_each = "captures.customers"
as = "c"
do = [{ if_text = "{{ c.name }}", in = "#list", then = [{ screenshot = "found-customer" }] }]

[[steps]]
download = "a#export"
save_as = "export"

[[steps]]
for_each = "captures.export"
do = [{ assert_text = "{{ row.any_column }}", message = "missing {{ row.other }}" }]

[[steps]]
download = "a#pdf"
save_as = "invoice"
parse = "none"

[[steps]]
assert = "#done"
message = "not done for {{ params.customer }}"

[[steps]]
if = "captures.plan"
then = [{ fail = "plan {{ captures.plan }} is wrong", class = "transient" }]
"###;

#[test]
fn complex_playbook_is_valid() {
    let p = ok(COMPLEX);
    assert_eq!(p.name, "acme.complex");
    assert_eq!(p.vendor, "acme");
    assert_eq!(p.description.as_deref(), Some("Everything at once"));
    assert_eq!(
        p.secrets,
        ["login.password", "login.totp_seed", "login.username"]
    );
    assert_eq!(p.default_timeout, Duration::from_secs(20));
    assert_eq!(p.params.len(), 5);
    assert_eq!(p.params["seats"].default, Some(ParamValue::Int(5)));
    assert_eq!(
        p.params["price"].default,
        Some(ParamValue::Decimal("4.50".into()))
    );
    assert!(p.params["customer"].required);
    assert_eq!(
        p.params["devices"].fields.keys().collect::<Vec<_>>(),
        ["quota", "serial"]
    );

    assert_eq!(p.flows.len(), 2);
    assert_eq!(p.flows["login"].len(), 6);
    assert_eq!(p.flows["open"].len(), 2);
    assert_eq!(p.steps.len(), 11);
    assert!(p.downloads());

    // Captures: name, kind, secret, ephemeral.
    let text = |secret, ephemeral| CaptureInfo {
        kind: CaptureKind::Text,
        secret,
        ephemeral,
        required: false,
        extracted: false,
        aliases: Vec::new(),
    };
    let expected = BTreeMap::from([
        ("otp".to_string(), text(true, true)),
        (
            "licence".to_string(),
            CaptureInfo {
                aliases: vec!["device".to_string()],
                ..text(true, false)
            },
        ),
        ("plan".to_string(), text(false, false)),
        ("link".to_string(), text(false, false)),
        (
            "customers".to_string(),
            CaptureInfo {
                kind: CaptureKind::Rows(Some(BTreeSet::from([
                    "id".to_string(),
                    "name".to_string(),
                    "seats".to_string(),
                ]))),
                secret: false,
                ephemeral: false,
                required: false,
                extracted: true,
                aliases: Vec::new(),
            },
        ),
        (
            "export".to_string(),
            CaptureInfo {
                kind: CaptureKind::Rows(None),
                secret: false,
                ephemeral: false,
                required: false,
                extracted: false,
                aliases: Vec::new(),
            },
        ),
        ("invoice".to_string(), text(false, false)),
    ]);
    assert_eq!(p.captures, expected);

    // Labels, paths and locations.
    let labels: Vec<&str> = p.steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "call open",
            "if_present .banner",
            "for_each params.devices",
            "frame iframe#billing",
            "extract customers",
            "for_each captures.customers",
            "download a#export",
            "for_each captures.export",
            "download a#pdf",
            "assert #done",
            "if captures.plan",
        ]
    );
    assert_eq!(p.flows["open"][1].label, "open the customer");
    assert_eq!(
        p.flows["login"][4].timeout,
        Some(Duration::from_millis(500))
    );
    assert_eq!(p.flows["login"][4].path, "flows.login[4]");
    assert_eq!(
        p.flows["login"][4].location,
        Location {
            file: Arc::from(Path::new("test.toml")),
            line: 31,
            column: 1
        }
    );
    assert_eq!(p.steps[0].timeout, None);

    // Actions.
    match &p.flows["login"][5].action {
        Action::Press { keys, on } => {
            assert_eq!(keys, "\u{E009}\u{E007}\u{E000}");
            assert_eq!(on.as_ref().map(|t| t.source.as_str()), Some("#otp"));
        }
        other => panic!("expected press, got {other:?}"),
    }
    match &p.steps[1].action {
        Action::If {
            condition: Condition::Present { css, wait },
            negate,
            then,
            otherwise,
        } => {
            assert_eq!(css.source, ".banner");
            assert_eq!(*wait, Some(Duration::from_secs(2)));
            assert!(!negate);
            assert_eq!(then.len(), 1);
            assert_eq!(then[0].path, "steps[1].then[0]");
            assert_eq!(otherwise.len(), 1);
            assert_eq!(otherwise[0].path, "steps[1].else[0]");
            assert_eq!(otherwise[0].label, "wait_text Welcome");
        }
        other => panic!("expected if_present, got {other:?}"),
    }
    match &p.steps[2].action {
        Action::ForEach {
            source,
            alias,
            key,
            body,
        } => {
            assert_eq!(source.to_string(), "params.devices");
            assert_eq!(alias, "device");
            assert_eq!(
                key.as_ref().map(|k| k.source.as_str()),
                Some("{{ device.serial }}")
            );
            assert_eq!(body.len(), 4);
            assert_eq!(body[3].path, "steps[2].do[3]");
            // `capture` in `  { capture = ...` on line 63.
            assert_eq!(
                body[3].location,
                Location {
                    file: Arc::from(Path::new("test.toml")),
                    line: 63,
                    column: 5
                }
            );
            match &body[0].action {
                Action::If {
                    condition: Condition::Var(v),
                    negate: true,
                    then,
                    ..
                } => {
                    assert_eq!(v.to_string(), "params.notify");
                    assert_eq!(then[0].path, "steps[2].do[0].then[0]");
                }
                other => panic!("expected unless, got {other:?}"),
            }
        }
        other => panic!("expected for_each, got {other:?}"),
    }
    match &p.steps[3].action {
        Action::Frame { css, body } => {
            assert_eq!(css.source, "iframe#billing");
            assert_eq!(body.len(), 2);
            assert_eq!(body[1].path, "steps[3].steps[1]");
        }
        other => panic!("expected frame, got {other:?}"),
    }
    match &p.steps[4].action {
        Action::Extract(e) => {
            assert_eq!(e.save_as, "customers");
            assert_eq!(e.rows.source, "table#customers tr.row");
            assert_eq!(e.max_pages, 10);
            assert_eq!(e.next.as_ref().map(|t| t.source.as_str()), Some("a.next"));
            assert_eq!(e.empty.as_ref().map(|t| t.source.as_str()), Some("p.empty"));
            let fields: Vec<(&str, Option<&str>, Option<&str>)> = e
                .fields
                .iter()
                .map(|f| match &f.source {
                    FieldSource::Page { css, attr, .. } => {
                        (f.name.as_str(), css.as_deref(), attr.as_deref())
                    }
                    FieldSource::Value(_) => panic!("a page field"),
                })
                .collect();
            // In the order written, not sorted.
            assert_eq!(
                fields,
                [
                    ("id", None, Some("data-id")),
                    ("name", Some("td.name"), None),
                    ("seats", Some("td.seats"), Some("title")),
                ]
            );
        }
        other => panic!("expected extract, got {other:?}"),
    }
    match &p.steps[6].action {
        Action::Download { parse, save_as, .. } => {
            assert_eq!(*parse, DownloadParse::Csv);
            assert_eq!(save_as, "export");
        }
        other => panic!("expected download, got {other:?}"),
    }
    match &p.steps[8].action {
        Action::Download { parse, .. } => assert_eq!(*parse, DownloadParse::None),
        other => panic!("expected download, got {other:?}"),
    }
    match &p.steps[10].action {
        Action::If { then, .. } => match &then[0].action {
            Action::Fail { class, .. } => {
                assert_eq!(*class, crate::failure::FailureClass::Transient)
            }
            other => panic!("expected fail, got {other:?}"),
        },
        other => panic!("expected if, got {other:?}"),
    }
}

#[test]
fn defaults_of_a_minimal_playbook() {
    let p = ok("[playbook]\nname = \"n\"\nvendor = \"v\"\n\n[[steps]]\nclick = \"#a\"\n");
    assert_eq!(p.default_timeout, DEFAULT_STEP_TIMEOUT);
    assert!(p.secrets.is_empty() && p.params.is_empty() && p.flows.is_empty());
    assert!(p.captures.is_empty());
    assert!(!p.downloads());
    assert_eq!(p.steps[0].label, "click #a");
    assert_eq!(p.steps[0].path, "steps[0]");
    assert_eq!(
        p.steps[0].location,
        Location {
            file: Arc::from(Path::new("test.toml")),
            line: 6,
            column: 1
        }
    );
}

#[test]
fn extract_without_next_reads_one_page() {
    let p = ok(&with_head(
        "[[steps]]\nextract = \"r\"\nfrom = \"tr\"\nfields = { a = \"td\" }\n\n[[steps]]\nextract = \"s\"\nfrom = \"tr\"\nfields = { a = \"td\" }\nnext = \"a.next\"\n",
    ));
    let pages: Vec<usize> = p
        .steps
        .iter()
        .map(|s| match &s.action {
            Action::Extract(e) => e.max_pages,
            other => panic!("expected extract, got {other:?}"),
        })
        .collect();
    assert_eq!(pages, [1, 50]);
}

#[test]
fn long_labels_are_cut_at_70_characters() {
    let long = "a".repeat(100);
    let p = ok(&with_head(&format!("[[steps]]\nwait_url = \"{long}\"\n")));
    assert_eq!(p.steps[0].label, format!("wait_url {}", "a".repeat(70)));
}

/// Every playbook shipped under `playbooks/` (except parameter files and
/// included flow files, which are checked through the playbooks that include them).
fn shipped_playbooks(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "params" || n == "flows")
            {
                continue;
            }
            shipped_playbooks(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

#[test]
fn shipped_playbooks_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
    let mut files = Vec::new();
    shipped_playbooks(&root, &mut files);
    assert!(!files.is_empty(), "no playbooks under {}", root.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| Playbook::load(f).err().map(|e| e.to_string()))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Flows shared through `include`: errors inside an included file name that
/// file; unknown includes and duplicate flows are reported.
#[test]
fn included_flows_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("flows")).unwrap();
    std::fs::write(
        dir.path().join("flows/login.toml"),
        "[[flows.login]]\ngoto = \"{{ vendor.base_url }}/login\"\n\n[[flows.login]]\nfill = \"#user\"\nwith = \"{{ secrets.login.user }}\"\n",
    )
    .unwrap();
    let main = dir.path().join("p.toml");
    let ok = "[playbook]\nname = \"p\"\nvendor = \"v\"\nsecrets = [\"login.user\"]\ninclude = [\"flows/login.toml\"]\n\n[[steps]]\ncall = \"login\"\n";
    std::fs::write(&main, ok).unwrap();
    let p = Playbook::load(&main).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.flows["login"].len(), 2);
    assert_eq!(
        p.flows["login"][1].location.file.as_ref(),
        dir.path().join("flows/login.toml")
    );
    assert_eq!(p.includes, [dir.path().join("flows/login.toml")]);

    // The included flow uses a secret the playbook does not declare, the
    // playbook redefines the flow, and includes a missing file.
    let bad = "[playbook]\nname = \"p\"\nvendor = \"v\"\ninclude = [\"flows/login.toml\", \"flows/nope.toml\"]\n\n[[flows.login]]\nclick = \"#x\"\n\n[[steps]]\ncall = \"login\"\n";
    std::fs::write(&main, bad).unwrap();
    let errors = Playbook::load(&main).unwrap_err().to_string();
    let m = main.display();
    let inc = dir.path().join("flows/login.toml");
    let inc = inc.display();
    assert_eq!(
        errors,
        format!(
            "{m}:4:1: playbook.include: cannot read included file `flows/nope.toml`: No such file or directory (os error 2)\n\
             {m}:6:9: flows.login: flow `login` is already defined in an included file\n\
             {inc}:6:1: flows.login[1]: `with`: `secrets.login.user` is not declared in [playbook] secrets"
        )
    );
}

/// `required` captures and `[playbook] recover`: a valid playbook whose
/// recovery flow sees the loop alias of the per-item output it recovers.
#[test]
fn required_outputs_and_recovery_flows() {
    let p = ok(r###"[playbook]
name = "t"
vendor = "v"
recover = { password = "reset", licence = "reread" }

[params]
devices = { type = "list", default = [], fields = { serial = "string" } }

[[steps]]
if_missing = "#customer"
then = [{ capture = "password", from = "#pw", secret = true, required = true }]

[[steps]]
for_each = "params.devices"
as = "device"
key = "{{ device.serial }}"
do = [{ capture = "licence", from = "#lic", secret = true, required = true }]

[[flows.reset]]
click = "#reset"
[[flows.reset]]
capture = "password"
from = "#pw"
secret = true

[[flows.reread]]
click = "tr[data-serial='{{ device.serial | css }}'] a"
[[flows.reread]]
capture = "licence"
from = "#lic"
secret = true
"###);
    assert_eq!(p.recover["password"], "reset");
    assert!(p.captures["password"].required);
    assert_eq!(p.captures["licence"].aliases, vec!["device".to_string()]);
    // Owed once per run: through both branches, not into the loop.
    assert_eq!(
        step::required_outputs(&p.steps, &p.flows),
        vec!["password".to_string()]
    );
}

#[test]
fn recover_errors() {
    snap(
        "recover_errors",
        r###"[playbook]
name = "t"
vendor = "v"
recover = { optional = "reset", nowhere = "reset", password = "missing_flow", key = "reset", pin = "reset" }

[[steps]]
capture = "optional"
from = "#o"
[[steps]]
capture = "password"
from = "#pw"
secret = true
required = true
[[steps]]
capture = "key"
from = "#k"
secret = true
required = true
[[steps]]
capture = "pin"
from = "#p"
required = true

[[flows.reset]]
capture = "pin"
from = "#p"
secret = true
[[flows.reset]]
capture = "other"
from = "#x"
"###,
    );
}

#[test]
fn required_capture_in_a_loop_without_key() {
    snap(
        "required_capture_in_a_loop_without_key",
        &with_head(
            r###"
[params]
devices = { type = "list", default = [], fields = { serial = "string" } }

[[steps]]
for_each = "params.devices"
do = [{ capture = "licence", from = "#lic", secret = true, required = true }]
"###,
        ),
    );
}

// --- capture patterns, from_url, fail classes, else-only conditions ---------

#[test]
fn capture_pattern_and_from_url_errors() {
    snap(
        "capture_pattern_and_from_url_errors",
        &with_head(
            r###"[[steps]]
capture = "a"
from = "a.customer"
attr = "href"
pattern = '/customers/(\d+'

[[steps]]
capture = "b"
from = "#b"
pattern = ""

[[steps]]
capture = "c"
from_url = true
from = "#c"
read = "value"
attr = "href"

[[steps]]
capture = "d"
from_url = false
"###,
        ),
    );
}

#[test]
fn capture_pattern_and_from_url_build() {
    let p = ok(&with_head(
        r###"[[steps]]
capture = "link_id"
from = "td.name a"
attr = "href"
pattern = '/customers/(\d+)'

[[steps]]
capture = "url_id"
from_url = true
pattern = '/customers/(\d+)'

[[steps]]
capture = "url"
from_url = true
"###,
    ));
    let shapes: Vec<String> = p
        .steps
        .iter()
        .map(|s| match &s.action {
            Action::Capture {
                source, pattern, ..
            } => {
                let source = match source {
                    CaptureSource::Element { css, read } => format!("{css} {read:?}"),
                    CaptureSource::Url => "url".to_string(),
                };
                format!("{source} {:?}", pattern.as_ref().map(Pattern::as_str))
            }
            other => panic!("expected capture, got {other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [
            r#"td.name a Attr("href") Some("/customers/(\\d+)")"#,
            r#"url Some("/customers/(\\d+)")"#,
            "url None",
        ]
    );
}

#[test]
fn fail_class_spellings() {
    snap(
        "fail_class_spellings",
        &with_head(
            r###"[[steps]]
fail = "old spelling"
class = "playbook"

[[steps]]
fail = "only jobs decide this"
class = "secret-lost"

[[steps]]
fail = "fine"
class = "playbook-broken"
"###,
        ),
    );
    let p = ok(&with_head(
        "[[steps]]\nfail = \"a\"\nclass = \"playbook-broken\"\n[[steps]]\nfail = \"b\"\nclass = \"transient\"\n[[steps]]\nfail = \"c\"\n",
    ));
    let classes: Vec<_> = p
        .steps
        .iter()
        .map(|s| match &s.action {
            Action::Fail { class, .. } => *class,
            other => panic!("expected fail, got {other:?}"),
        })
        .collect();
    use crate::failure::FailureClass;
    assert_eq!(
        classes,
        [
            FailureClass::PlaybookBroken,
            FailureClass::Transient,
            FailureClass::Permanent
        ]
    );
}

/// `else` alone is enough; neither branch is still an error (pinned in
/// `missing_required_modifiers_of_each_action`).
#[test]
fn conditions_with_only_else() {
    let p = ok(&with_head(
        r###"[params]
trial = { type = "bool", default = false }

[[steps]]
if_present = "#banner"
else = [{ click = "#a" }]

[[steps]]
if_missing = "#banner"
else = [{ click = "#b" }]

[[steps]]
if_text = "Welcome"
else = [{ click = "#c" }]

[[steps]]
unless = "params.trial"
else = [{ click = "#d" }]
"###,
    ));
    for step in &p.steps {
        match &step.action {
            Action::If {
                then, otherwise, ..
            } => assert!(then.is_empty() && otherwise.len() == 1, "{}", step.path),
            other => panic!("expected a condition, got {other:?}"),
        }
    }
}

// --- the customer reference ---------------------------------------------------

#[test]
fn customer_ref_defaults_and_declared() {
    let p = ok(&with_head("[[steps]]\nclick = \"#a\"\n"));
    assert_eq!(p.customer_ref(), DEFAULT_CUSTOMER_REF);
    assert_eq!(p.customer_ref(), "vendor_customer_id");
    let p = ok(r###"[playbook]
name = "t"
vendor = "v"
customer_ref = "account_id"
include = []

[[flows.open]]
capture = "account_id"
from_url = true
pattern = '/accounts/(\d+)'

[[steps]]
if_missing = "#exists"
then = [{ click = "#create" }]
[[steps]]
call = "open"
"###);
    assert_eq!(p.customer_ref(), "account_id");
}

#[test]
fn customer_ref_errors() {
    let head = |name: &str| {
        format!(
            "[playbook]\nname = \"t\"\nvendor = \"v\"\nsecrets = [\"login.totp_seed\"]\ncustomer_ref = \"{name}\"\n"
        )
    };
    let body = r###"
[params]
devices = { type = "list", default = [], fields = { serial = "string" } }

[[steps]]
capture = "api_key"
from = "#key"
secret = true

[[steps]]
extract = "rows"
from = "tr"
fields = { a = "td" }

[[steps]]
totp = "login.totp_seed"
save_as = "otp"

[[steps]]
for_each = "params.devices"
key = "{{ row.serial }}"
do = [{ capture = "device_id", from = "#id" }]
"###;
    let out: Vec<String> = ["nothing", "api_key", "rows", "otp", "device_id"]
        .iter()
        .map(|name| render(&format!("{}{body}", head(name))))
        .collect();
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/validation"),
        prepend_module_to_snapshot => false,
        description => format!("{}{body}", head("NAME")),
        omit_expression => true,
    }, {
        insta::assert_snapshot!("customer_ref_errors", out.join("\n"));
    });
}

// --- kinds and their contracts -------------------------------------------------

/// `[playbook]` of kind `kind` (four lines: steps start on line 5).
fn kind_head(kind: &str) -> String {
    format!("[playbook]\nname = \"t\"\nvendor = \"v\"\nkind = \"{kind}\"\n")
}

#[test]
fn kind_is_optional_and_read() {
    assert_eq!(ok(&with_head("[[steps]]\nclick = \"#a\"\n")).kind, None);
    let p = ok(&format!(
        "{}[[steps]]\nextract = \"usage\"\nfrom = \"tr\"\nfields = {{ customer = \"td\", sku = \"td\", metric = \"td\", quantity = \"td\", unit = \"td\", period = \"td\" }}\n",
        kind_head("report")
    ));
    assert_eq!(p.kind, Some(PlaybookKind::Report));
}

#[test]
fn unknown_kind_is_an_error_at_its_key() {
    assert_eq!(
        render(&format!(
            "{}[[steps]]\nclick = \"#a\"\n",
            kind_head("reprot")
        )),
        "test.toml:4:1: playbook.kind: unknown playbook kind `reprot` (expected one of: provision, report, probe)"
    );
}

#[test]
fn report_rows_lack_a_contract_field() {
    let src = format!(
        r##"{}
[[steps]]
click = "#a"

[[steps]]
extract = "snapshot"
from = "tr"
fields = {{ customer = "td.c", customer_name = "td.n", kind = "td.k", key = "td.key", sku = "td.s", quantity = "td.q" }}
"##,
        kind_head("report")
    );
    assert_eq!(
        render(&src),
        "test.toml:10:1: steps[1]: `snapshot` rows lack `status` (a `report` playbook's `snapshot` rows have: customer, customer_name, kind, key, sku, quantity, status)"
    );
    // In a flow, with several missing: named together, at the flow's step.
    let src = format!(
        r#"{}
[[flows.read]]
extract = "usage"
from = "tr"
fields = {{ customer = "td", sku = "td", customer_name = "td" }}

[[steps]]
call = "read"
"#,
        kind_head("report")
    );
    assert_eq!(
        render(&src),
        "test.toml:7:1: flows.read[0]: `usage` rows lack `metric`, `quantity`, `unit`, `period` (a `report` playbook's `usage` rows have: customer, sku, metric, quantity, unit, period)"
    );
}

#[test]
fn report_rows_from_csv_pass_check() {
    let p = ok(&format!(
        "{}[[steps]]\ndownload = \"a#csv\"\nsave_as = \"snapshot\"\nparse = \"csv\"\n",
        kind_head("report")
    ));
    assert_eq!(p.captures["snapshot"].kind, CaptureKind::Rows(None));
}

#[test]
fn report_needs_an_output_and_no_recovery() {
    assert_eq!(
        render(&format!(
            "{}[[steps]]\nclick = \"#a\"\n",
            kind_head("report")
        )),
        "test.toml:4:1: playbook.kind: a `report` playbook produces rows named `usage` or `snapshot` (or both); no step does"
    );
    let src = format!(
        r##"{}recover = {{ usage = "again" }}
[[flows.again]]
capture = "usage"
from = "#x"
[[steps]]
capture = "usage"
from = "#x"
required = true
"##,
        kind_head("report")
    );
    assert_eq!(
        render(&src),
        "test.toml:5:1: playbook.recover: a `report` playbook has no `recover`: it only reads, and a failed run is simply run again\n\
         test.toml:10:1: steps[0]: `usage` must be rows (from `extract`, or `download` with `parse = \"csv\"`), not a single value"
    );
}

#[test]
fn probe_only_reads() {
    let src = format!(
        r##"{}secrets = ["login.password"]
[params]
file = {{ type = "string", default = "x" }}

[[steps]]
upload = "#f"
file = "{{{{ params.file }}}}"

[[steps]]
if_present = "#x"
then = [{{ capture = "x", from = "#x", required = true }}]

[[steps]]
download = "a"
save_as = "d"

[[steps]]
assert = "#go"
effects = [{{ kind = "status", key = "account" }}]
"##,
        kind_head("probe")
    );
    assert_eq!(
        render(&src),
        "test.toml:10:1: steps[0]: a `probe` playbook does not `upload`: it only reads, and stays short\n\
         test.toml:15:39: steps[1].then[0]: a `probe` playbook has no `required` outputs: it only looks\n\
         test.toml:18:1: steps[2]: a `probe` playbook does not `download`: it only reads, and stays short\n\
         test.toml:23:1: steps[3]: a `probe` playbook changes nothing at the vendor, so no step has `effects`"
    );
}

#[test]
fn provision_kind_requires_its_customer_ref() {
    assert_eq!(
        render(&format!(
            "{}[[steps]]\nclick = \"#a\"\n",
            kind_head("provision")
        )),
        "test.toml:4:1: playbook.kind: `vendor_customer_id` is not captured by any step (a `provision` playbook captures the vendor's id of its customer, named by `[playbook] customer_ref`, default `vendor_customer_id`)"
    );
    let p = ok(&format!(
        "{}[[steps]]\ncapture = \"vendor_customer_id\"\nfrom = \"#id\"\n",
        kind_head("provision")
    ));
    assert_eq!(p.kind, Some(PlaybookKind::Provision));
    // Declared explicitly: reported at `customer_ref`, as without a kind.
    assert_eq!(
        render(&format!(
            "{}customer_ref = \"account\"\n[[steps]]\ncapture = \"vendor_customer_id\"\nfrom = \"#id\"\n",
            kind_head("provision")
        )),
        "test.toml:5:1: playbook.customer_ref: `account` is not captured by any step"
    );
}

#[test]
fn the_shipped_provision_playbook_declares_its_kind_and_effects() {
    let p = Playbook::load(Path::new("playbooks/demo-backup/provision.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.kind, Some(PlaybookKind::Provision));
    let mut effects = Vec::new();
    fn walk<'s>(steps: &'s [Step], found: &mut Vec<(&'s str, &'s EffectSpec)>) {
        for s in steps {
            found.extend(s.effects.iter().map(|e| (s.label.as_str(), e)));
            match &s.action {
                Action::If {
                    then, otherwise, ..
                } => {
                    walk(then, found);
                    walk(otherwise, found);
                }
                Action::ForEach { body, .. } | Action::Frame { body, .. } => walk(body, found),
                _ => {}
            }
        }
    }
    walk(&p.steps, &mut effects);
    for flow in p.flows.values() {
        walk(flow, &mut effects);
    }
    let shown: Vec<String> = effects
        .iter()
        .map(|(step, e)| format!("{step}: {} {}", e.kind, e.key.with_placeholder("x")))
        .collect();
    assert_eq!(
        shown,
        [
            "click #create: status account",
            "click #create: edition plan",
            "click #create: seat BK-WS",
            "click #enrol: device x",
            "click #enrol: quota x",
        ]
    );
}

// --- effects -------------------------------------------------------------------

#[test]
fn effects_are_built_with_their_templates() {
    let p = ok(&with_head(
        r##"[params]
seats = { type = "int", default = 5 }
[[steps]]
click = "#create"
effects = [{ kind = "seat", key = "BK-WS", sku = "BK-WS", quantity = "{{ params.seats }}", status = "active" }, { kind = "status", key = "account" }]
[[steps]]
wait_url = "/created"
"##,
    ));
    let effects = &p.steps[0].effects;
    assert_eq!(effects.len(), 2);
    assert_eq!(effects[0].kind, "seat");
    assert!(effects[0].quantity.is_some() && effects[1].sku.is_none());
}

#[test]
fn effects_errors_point_at_the_entry_key() {
    let src = with_head(
        r##"[[steps]]
capture = "api_key"
from = "#k"
secret = true
[[steps]]
assert = "#a"
effects = [{ kind = "seats", key = "x" }]
[[steps]]
assert = "#b"
effects = [{ kind = "seat", key = "{{ secrets.login.password }}", quantity = "{{ captures.api_key }}" }]
[[steps]]
assert = "#c"
effects = [{ kind = "seat", key = "{{ params.nope }}" }]
[[steps]]
assert = "#d"
effects = [{ kind = "seat", key = "x", skus = "y" }]
[[steps]]
wait_gone = "#e"
effects = [{ kind = "seat", key = "x" }]
"##,
    );
    assert_eq!(
        render(&src),
        "test.toml:11:21: steps[1]: `effects[0].kind`: unknown effect kind `seats` (expected one of: seat, device, quota, edition, status)\n\
         test.toml:14:35: steps[2]: `effects[0].key`: `secrets.login.password` is a secret; effects are stored in the clear, so they cannot use secrets\n\
         test.toml:14:78: steps[2]: `effects[0].quantity`: `captures.api_key` is a secret capture; effects are stored in the clear, so they cannot use secrets\n\
         test.toml:17:35: steps[3]: `effects[0].key`: `params.nope` is not declared in [params]\n\
         test.toml:20:40: steps[4]: unknown key `skus`, expected one of `kind`, `key`, `sku`, `quantity`, `status`, `unit`\n\
         test.toml:23:1: steps[5]: `effects` does not apply to a `wait_gone` step (`wait_gone` takes no other keys besides timeout and name)"
    );
}

#[test]
fn load_takes_known_resource_kinds_once() {
    let head = |load: &str| {
        format!(
            "[playbook]\nname = \"t\"\nvendor = \"v\"\nload = {load}\n\n[[steps]]\nclick = \"#a\"\n"
        )
    };
    use crate::browser::ResourceKind;
    assert_eq!(
        ok(&head("[\"images\", \"media\"]")).load,
        vec![ResourceKind::Images, ResourceKind::Media]
    );
    assert!(ok(&head("[]")).load.is_empty());
    assert_eq!(
        render(&head("[\"images\", \"pictures\"]")),
        "test.toml:4:1: playbook.load: unknown resource kind `pictures` (expected one of: images, fonts, media)"
    );
    assert_eq!(
        render(&head("[\"fonts\", \"fonts\"]")),
        "test.toml:4:1: playbook.load: `fonts` is listed twice"
    );
}

// --- extract fields, append, confirmed effects (issue 18) -------------------------

/// A field is a selector, `{ css, attr, pattern }`, or `{ value }`: a
/// constant, or a template over this row's page fields and the run's names.
#[test]
fn extract_fields_are_constants_templates_and_patterns() {
    let p = ok(&with_head(
        r##"[params]
tenant = { type = "string", default = "x" }
[[steps]]
extract = "snapshot"
from = "tr"
fields = { plan = "td.plan", kind = { value = "seat" }, key = { value = "{{ params.tenant }}-{{ row.plan }}" }, quantity = { css = "td.q", pattern = '([\d.]+) GB' }, link = { css = "a", attr = "href", pattern = '/(\d+)/' } }
"##,
    ));
    let Action::Extract(e) = &p.steps[0].action else {
        panic!("an extract");
    };
    let shown: Vec<String> = e
        .fields
        .iter()
        .map(|f| match &f.source {
            FieldSource::Page { css, attr, pattern } => format!(
                "{} page {css:?} {attr:?} {:?}",
                f.name,
                pattern.as_ref().map(Pattern::as_str)
            ),
            FieldSource::Value(t) => format!("{} value {}", f.name, t.source),
        })
        .collect();
    assert_eq!(
        shown,
        [
            r#"plan page Some("td.plan") None None"#,
            "kind value seat",
            "key value {{ params.tenant }}-{{ row.plan }}",
            r#"quantity page Some("td.q") None Some("([\\d.]+) GB")"#,
            r#"link page Some("a") Some("href") Some("/(\\d+)/")"#,
        ]
    );
    assert!(!e.append);
}

/// Every mistake in a field is a check error naming the field: an
/// undeclared name, a row field that is not read from the page (absent,
/// or itself a `value`), a secret, a bad pattern, `value` with `css`.
#[test]
fn extract_field_mistakes_are_check_errors() {
    let src = with_head(
        r##"[[steps]]
extract = "rows"
from = "tr"
fields = { a = "td", b = { value = "{{ row.nope }}" }, c = { value = "{{ row.b }}" }, d = { value = "{{ params.nope }}" }, e = { value = "{{ secrets.login.password }}" }, f = { css = "td", pattern = '(' }, g = { value = "x", css = "td" }, h = { value = "{{ row" }, i = { pattern = "" } }
"##,
    );
    let out = render(&src);
    for expected in [
        "field `b`: `row.nope`: this extract reads no field `nope` from the page (`row` names the fields read from the page: a, f, i)",
        "field `c`: `row.b`: this extract reads no field `b` from the page",
        "field `d`: `params.nope` is not declared in [params]",
        "field `e`: `secrets.login.password` is a secret; rows are stored in the clear, so they cannot use secrets",
        "field `f`: `pattern`: invalid regular expression `(`",
        "field `g`: `value` is not read from the page, so it takes no `css`, `attr` or `pattern`",
        "field `h`: ",
        "field `i`: `pattern` is empty",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(
        out.lines()
            .all(|l| l.starts_with("test.toml:8:1: steps[0]: ")),
        "each names the file, line, column and step:\n{out}"
    );
}

/// Issue 18 §2: a later `extract` with `append = true` fills the same
/// output; the two branches of one condition may each extract it.
#[test]
fn one_output_from_appended_extracts_and_branches() {
    let p = ok(&with_head(
        r##"[[steps]]
extract = "rows"
from = "tr.a"
fields = { a = "td", b = "td" }
[[steps]]
if_present = "#x"
then = [{ extract = "more", from = "tr", fields = { a = "td" } }]
else = [{ extract = "more", from = "tr", fields = { a = "td" } }]
[[steps]]
extract = "rows"
append = true
from = "tr.b"
fields = { a = "td", c = "td" }
"##,
    ));
    let Action::Extract(e) = &p.steps[2].action else {
        panic!("an extract");
    };
    assert!(e.append);
    // What every producer's rows have.
    assert_eq!(
        p.captures["rows"].kind,
        CaptureKind::Rows(Some(BTreeSet::from(["a".to_string()])))
    );
}

/// The duplicate-name rule still catches real duplicates, and `append`
/// needs an earlier producer (a branch's extract is not before its sibling).
#[test]
fn duplicate_extracts_and_append_without_a_producer_are_refused() {
    let src = with_head(
        r##"[[steps]]
extract = "rows"
from = "tr"
fields = { a = "td" }
[[steps]]
extract = "rows"
from = "tr"
fields = { a = "td" }
[[steps]]
extract = "first"
append = true
from = "tr"
fields = { a = "td" }
[[steps]]
if_present = "#x"
then = [{ extract = "b", from = "tr", fields = { a = "td" } }, { extract = "b", from = "tr", fields = { a = "td" } }]
else = [{ extract = "c", from = "tr", fields = { a = "td" } }]
[[steps]]
capture = "rows"
from = "#x"
"##,
    );
    assert_eq!(
        render(&src),
        "test.toml:10:1: steps[1]: capture name `rows` is already used by another step (write `append = true` to add this step's rows to the earlier ones)\n\
         test.toml:15:1: steps[2]: `append = true`, but no earlier step extracts `first` (the first `extract` of an output does not append)\n\
         test.toml:20:66: steps[3].then[1]: capture name `b` is already used by another step (write `append = true` to add this step's rows to the earlier ones)\n\
         test.toml:23:1: steps[4]: capture name `rows` is already used by another step"
    );
}

/// Issue 18 §2: appended extracts of a report output each provide the
/// contract's fields (`check` names the step that lacks one).
#[test]
fn each_appended_report_extract_has_the_contract_fields() {
    let src = r##"[playbook]
name = "t"
vendor = "v"
kind = "report"
[[steps]]
extract = "snapshot"
from = "tr"
fields = { customer = "td", customer_name = "td", kind = { value = "seat" }, key = "td", sku = "td", quantity = "td", status = "td" }
[[steps]]
extract = "snapshot"
append = true
from = "tr"
fields = { customer = "td", customer_name = "td", kind = { value = "device" }, key = "td", sku = "td", quantity = "td" }
"##;
    assert_eq!(
        render(src),
        "test.toml:10:1: steps[1]: `snapshot` rows lack `status` (a `report` playbook's `snapshot` rows have: customer, customer_name, kind, key, sku, quantity, status)"
    );
}

/// Issue 18 §3: effects belong on a step whose change is confirmed, by
/// itself or by the check right after it in its list.
#[test]
fn effects_need_a_confirming_step() {
    let src = with_head(
        r##"[[steps]]
click = "#save"
effects = [{ kind = "seat", key = "x" }]
[[steps]]
click = "#next"
[[steps]]
click = "#save2"
effects = [{ kind = "seat", key = "y" }]
[[steps]]
wait_text = "Saved"
[[steps]]
wait_url = "/done"
effects = [{ kind = "seat", key = "z" }]
[[steps]]
if_present = "#x"
then = [{ click = "#a", effects = [{ kind = "seat", key = "w" }] }]
[[steps]]
assert = "#after-the-branch"
"##,
    );
    let out = render(&src);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(
            "test.toml:7:1: steps[0]: `effects` are recorded once the vendor confirmed the change"
        ),
        "{out}"
    );
    // A check after the branch is not in the branch.
    assert!(
        lines[1].starts_with("test.toml:20:25: steps[5].then[0]: "),
        "{out}"
    );
}
