//! Service changes: what differs between two service snapshots of a vendor
//! account, and who made each change — one of our jobs (it recorded what it
//! created or changed) or somebody at the vendor.

use super::usage;
use crate::money::Decimal;
use std::collections::BTreeMap;

/// One item of a service snapshot: what is provisioned for a vendor
/// customer, under a kind (`seat`, `device`, `quota`, `edition`, `status`)
/// and a key unique within that kind (a SKU, a serial number, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub customer: String,
    pub kind: String,
    pub key: String,
    pub sku: Option<String>,
    pub quantity: Option<Decimal>,
    /// Of the quantity (storage already in GiB).
    pub unit: Option<String>,
    /// The unit the row was written in (`GB`), before conversion: what an
    /// effect without a unit is in. `None` for a stored item.
    pub read_unit: Option<String>,
    pub status: Option<String>,
}

impl Item {
    fn id(&self) -> (&str, &str, &str) {
        (&self.customer, &self.kind, &self.key)
    }
}

/// What changed about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    QuantityChanged,
    StatusChanged,
    /// The SKU (edition, plan) changed.
    EditionChanged,
}

crate::text::text_enum!(ChangeKind, "change kind", {
    Added => "added",
    Removed => "removed",
    QuantityChanged => "quantity-changed",
    StatusChanged => "status-changed",
    EditionChanged => "edition-changed",
});

/// One change, with the value before and after (as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub customer: String,
    pub kind: String,
    pub key: String,
    pub change: ChangeKind,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The item as it is now (`None`: removed), for attribution.
    pub now: Option<Item>,
}

fn shown(item: &Item) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &item.sku {
        parts.push(s.clone());
    }
    if let Some(q) = &item.quantity {
        match &item.unit {
            Some(u) => parts.push(format!("{q} {u}")),
            None => parts.push(q.to_string()),
        }
    }
    if let Some(s) = &item.status {
        parts.push(s.clone());
    }
    parts.join(" ")
}

/// Every change from `previous` to `current`, in (customer, kind, key) order;
/// an item whose SKU, quantity and status all changed gives three changes.
pub fn diff(previous: &[Item], current: &[Item]) -> Vec<Change> {
    let before: BTreeMap<_, &Item> = previous.iter().map(|i| (i.id(), i)).collect();
    let after: BTreeMap<_, &Item> = current.iter().map(|i| (i.id(), i)).collect();
    let mut ids: Vec<_> = before.keys().chain(after.keys()).copied().collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let now = after.get(&id).map(|i| (*i).clone());
        let change = |change, before: Option<String>, after: Option<String>| Change {
            customer: id.0.to_string(),
            kind: id.1.to_string(),
            key: id.2.to_string(),
            change,
            before,
            after,
            now: now.clone(),
        };
        match (before.get(&id), after.get(&id)) {
            (None, Some(a)) => out.push(change(ChangeKind::Added, None, Some(shown(a)))),
            (Some(b), None) => out.push(change(ChangeKind::Removed, Some(shown(b)), None)),
            (Some(b), Some(a)) => {
                if b.sku != a.sku {
                    out.push(change(
                        ChangeKind::EditionChanged,
                        b.sku.clone(),
                        a.sku.clone(),
                    ));
                }
                if b.quantity != a.quantity {
                    let text = |q: &Option<Decimal>| q.as_ref().map(Decimal::to_string);
                    out.push(change(
                        ChangeKind::QuantityChanged,
                        text(&b.quantity),
                        text(&a.quantity),
                    ));
                }
                if b.status != a.status {
                    out.push(change(
                        ChangeKind::StatusChanged,
                        b.status.clone(),
                        a.status.clone(),
                    ));
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// Something one of our jobs did to an item, recorded when it did it, with
/// the values it set (those it declared).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OurAction {
    pub job_id: i64,
    pub customer: String,
    pub kind: String,
    pub key: String,
    pub sku: Option<String>,
    pub quantity: Option<Decimal>,
    /// Of `quantity`, converted as the item's (storage in GiB); `None`:
    /// the unit the item was read in.
    pub unit: Option<String>,
    pub status: Option<String>,
    /// Unix milliseconds.
    pub at: i64,
}

impl OurAction {
    /// The item as it is now could be what this action left: every value
    /// the action set is the item's (a removed item: nothing to compare).
    fn left(&self, now: Option<&Item>) -> bool {
        let Some(item) = now else {
            return true;
        };
        let same = |ours: &Option<String>, theirs: &Option<String>| {
            ours.is_none() || theirs.is_none() || ours == theirs
        };
        same(&self.sku, &item.sku) && same(&self.status, &item.status) && self.left_quantity(item)
    }

    /// The quantity this action set is the item's: both in one unit,
    /// converted by the one exact rule ([`usage::quantity`]), so 150 GB
    /// set is the 139.698… GiB read.
    fn left_quantity(&self, item: &Item) -> bool {
        let (Some(ours), Some(theirs)) = (&self.quantity, &item.quantity) else {
            return true;
        };
        let ours = match (&self.unit, &item.read_unit) {
            (Some(unit), _) => {
                if item.unit.as_ref().is_some_and(|u| u != unit) {
                    return false;
                }
                *ours
            }
            // No unit: the one the item was read in.
            (None, Some(read)) => match usage::quantity(&ours.to_string(), read) {
                Ok(q) => q.value,
                Err(_) => return false,
            },
            (None, None) => *ours,
        };
        &ours == theirs
    }
}

/// Who made each change seen between a snapshot taken at `since` and one
/// taken at `until` (Unix milliseconds): the job that acted on the same
/// item in that window (the latest, if several) and left the values the item
/// has now; else `None`: made at the vendor (also when someone at the
/// vendor changed the item again after our job, e.g. our 5 seats became 8).
pub fn attribute(
    changes: Vec<Change>,
    ours: &[OurAction],
    since: i64,
    until: i64,
) -> Vec<(Change, Option<i64>)> {
    changes
        .into_iter()
        .map(|c| {
            let job = ours
                .iter()
                .filter(|a| {
                    a.customer == c.customer
                        && a.kind == c.kind
                        && a.key == c.key
                        && a.at > since
                        && a.at <= until
                })
                .max_by_key(|a| a.at)
                .filter(|a| a.left(c.now.as_ref()))
                .map(|a| a.job_id);
            (c, job)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(customer: &str, kind: &str, key: &str, sku: &str, qty: &str, status: &str) -> Item {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Item {
            customer: customer.into(),
            kind: kind.into(),
            key: key.into(),
            sku: opt(sku),
            quantity: (!qty.is_empty()).then(|| Decimal::parse(qty).unwrap()),
            unit: None,
            read_unit: None,
            status: opt(status),
        }
    }

    #[test]
    fn each_kind_of_change_is_found_with_before_and_after() {
        let before = [
            item("24", "seat", "BK-WS", "BK-WS", "8", "active"),
            item("24", "device", "SN-1", "BK-SRV", "1", "active"),
            item("24", "quota", "storage", "", "259.10", ""),
            item("24", "edition", "plan", "BK-STD", "", ""),
            item("7", "status", "account", "", "", "active"),
        ];
        let after = [
            item("24", "seat", "BK-WS", "BK-WS", "10", "active"),
            item("24", "quota", "storage", "", "259.1", ""),
            item("24", "edition", "plan", "BK-PRO", "", ""),
            item("24", "device", "SN-3", "BK-WS", "1", "active"),
            item("7", "status", "account", "", "", "suspended"),
        ];
        let found: Vec<String> = diff(&before, &after)
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {} {:?}→{:?}",
                    c.customer, c.kind, c.key, c.change, c.before, c.after
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                "24 device SN-1 removed Some(\"BK-SRV 1 active\")→None",
                "24 device SN-3 added None→Some(\"BK-WS 1 active\")",
                "24 edition plan edition-changed Some(\"BK-STD\")→Some(\"BK-PRO\")",
                "24 seat BK-WS quantity-changed Some(\"8\")→Some(\"10\")",
                "7 status account status-changed Some(\"active\")→Some(\"suspended\")",
            ]
        );
        // 259.10 and 259.1 are the same quantity: no change.
        assert!(diff(&before, &before).is_empty());
    }

    #[test]
    fn a_change_is_ours_only_when_our_job_acted_on_that_item_in_the_window() {
        let changes = diff(
            &[item("24", "seat", "BK-WS", "BK-WS", "8", "")],
            &[
                item("24", "seat", "BK-WS", "BK-WS", "10", ""),
                item("24", "device", "SN-3", "BK-WS", "1", ""),
            ],
        );
        let ours = [
            OurAction {
                job_id: 41,
                customer: "24".into(),
                kind: "device".into(),
                key: "SN-3".into(),
                at: 150,
                ..OurAction::default()
            },
            // Before the previous snapshot: not this change.
            OurAction {
                job_id: 40,
                customer: "24".into(),
                kind: "seat".into(),
                key: "BK-WS".into(),
                at: 90,
                ..OurAction::default()
            },
        ];
        let attributed = attribute(changes, &ours, 100, 200);
        let who: Vec<(String, Option<i64>)> = attributed
            .iter()
            .map(|(c, j)| (c.key.clone(), *j))
            .collect();
        assert_eq!(
            who,
            vec![("SN-3".to_string(), Some(41)), ("BK-WS".to_string(), None)]
        );
    }

    #[test]
    fn a_change_our_job_started_but_someone_else_finished_is_theirs() {
        let changes = diff(&[], &[item("24", "seat", "BK-WS", "BK-WS", "8", "active")]);
        let ours = |quantity: &str| OurAction {
            job_id: 41,
            customer: "24".into(),
            kind: "seat".into(),
            key: "BK-WS".into(),
            quantity: Some(Decimal::parse(quantity).unwrap()),
            at: 150,
            ..OurAction::default()
        };
        // We created 5 seats; someone made them 8 before the report.
        let who = attribute(changes.clone(), &[ours("5")], 100, 200);
        assert_eq!(who[0].1, None);
        // We created 8.00: ours.
        let who = attribute(changes, &[ours("8.00")], 100, 200);
        assert_eq!(who[0].1, Some(41));
    }
}
