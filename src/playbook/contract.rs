//! What a playbook of each kind promises the job that runs it: the outputs
//! it leaves and their fields, as data, so that `check` (see
//! `validate::contract`), the jobs that read the outputs and
//! `docs/playbook-contracts.md` agree (a test checks the document names
//! every field listed here).

use crate::text::text_enum;

/// `[playbook] kind`: which job a playbook is written for. Absent: a
/// generic playbook (`panelwright run`), with no contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlaybookKind {
    /// Creates or finds the vendor's customer; leaves its id under
    /// `[playbook] customer_ref`.
    Provision,
    /// Reads usage and the services provisioned: `usage` and/or `snapshot` rows.
    Report,
    /// Checks that the console works: read-only and short.
    Probe,
}

text_enum!(PlaybookKind, "playbook kind", {
    Provision => "provision",
    Report => "report",
    Probe => "probe",
});

/// The rows a playbook leaves under one output name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowsContract {
    /// The output (capture) name.
    pub output: &'static str,
    /// Fields every row must have.
    pub fields: &'static [&'static str],
    /// Fields a row may have besides.
    pub optional: &'static [&'static str],
}

/// Fields of a `usage` row: what a customer consumed in a month.
pub const REPORT_USAGE_FIELDS: &[&str] =
    &["customer", "sku", "metric", "quantity", "unit", "period"];
/// Optional fields of a `usage` row.
pub const REPORT_USAGE_OPTIONAL_FIELDS: &[&str] = &["customer_name"];
/// Fields of a `snapshot` row: one service item provisioned for a customer.
pub const REPORT_SNAPSHOT_FIELDS: &[&str] = &[
    "customer",
    "customer_name",
    "kind",
    "key",
    "sku",
    "quantity",
    "status",
];
/// Optional fields of a `snapshot` row.
pub const REPORT_SNAPSHOT_OPTIONAL_FIELDS: &[&str] = &["unit"];

/// The `usage` output of a `report` playbook.
pub const REPORT_USAGE: RowsContract = RowsContract {
    output: "usage",
    fields: REPORT_USAGE_FIELDS,
    optional: REPORT_USAGE_OPTIONAL_FIELDS,
};

/// The `snapshot` output of a `report` playbook.
pub const REPORT_SNAPSHOT: RowsContract = RowsContract {
    output: "snapshot",
    fields: REPORT_SNAPSHOT_FIELDS,
    optional: REPORT_SNAPSHOT_OPTIONAL_FIELDS,
};

/// A `report` playbook leaves at least one of these.
pub const REPORT_OUTPUTS: &[RowsContract] = &[REPORT_USAGE, REPORT_SNAPSHOT];

/// What a service item (a `snapshot` row's `kind`, an effect's `kind`) is.
pub const SERVICE_KINDS: &[&str] = &["seat", "device", "quota", "edition", "status"];

/// The keys of one `effects` entry; `kind` and `key` are required.
pub const EFFECT_KEYS: &[&str] = &["kind", "key", "sku", "quantity", "status", "unit"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The operators' document names every kind, output and field the
    /// contracts list, so what `check` enforces is written down.
    #[test]
    fn the_document_names_every_field() {
        let doc = include_str!("../../docs/playbook-contracts.md");
        let quoted = |word: &str| doc.contains(&format!("`{word}`"));
        let mut words: Vec<&str> = PlaybookKind::ALL.iter().map(|k| k.as_str()).collect();
        for contract in REPORT_OUTPUTS {
            words.push(contract.output);
            words.extend(contract.fields);
            words.extend(contract.optional);
        }
        words.extend(SERVICE_KINDS);
        words.extend(EFFECT_KEYS);
        for word in words {
            assert!(
                quoted(word),
                "docs/playbook-contracts.md never names `{word}`"
            );
        }
    }

    #[test]
    fn required_and_optional_fields_do_not_overlap() {
        for contract in REPORT_OUTPUTS {
            for field in contract.optional {
                assert!(!contract.fields.contains(field), "{field}");
            }
        }
    }
}
