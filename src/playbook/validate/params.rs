//! `[params]`: each parameter's type, list fields and default.

use super::Validator;
use crate::playbook::error::excerpt;
use crate::playbook::params::{ParamSpec, ParamType};
use crate::playbook::raw::RawParam;
use crate::playbook::step::Location;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::DeValue;

impl Validator<'_> {
    pub(super) fn params(&mut self, value: &Spanned<DeValue<'_>>) {
        let DeValue::Table(table) = value.get_ref() else {
            let loc = self.loc(value.span().start);
            self.error_at(&loc, "params", "`params` must be a table");
            return;
        };
        for (name, v) in table.iter() {
            let name = name.get_ref().to_string();
            let path = format!("params.{name}");
            let loc = self.loc(v.span().start);
            match RawParam::deserialize(v.clone().into_deserializer()) {
                Ok(raw) => self.param(name, raw, &loc, &path),
                Err(e) => self.toml_error(&e, &loc, &path),
            }
        }
    }

    /// Declares one parameter (even a wrong one, so that its uses are not
    /// reported too).
    fn param(&mut self, name: String, raw: RawParam, loc: &Location, path: &str) {
        let Some(kind) = ParamType::parse(&raw.kind) else {
            self.error_at(
                loc,
                path,
                format!(
                    "unknown type `{}` (expected string, int, decimal, bool, list)",
                    excerpt(&raw.kind)
                ),
            );
            // Still declared (as a string), so its uses are not reported too.
            self.params.insert(
                name.clone(),
                ParamSpec {
                    name,
                    kind: ParamType::String,
                    required: false,
                    default: None,
                    description: None,
                    fields: BTreeMap::new(),
                },
            );
            return;
        };
        let fields = self.param_fields(kind, raw.fields.as_ref(), loc, path);
        let mut spec = ParamSpec {
            name: name.clone(),
            kind,
            required: raw.required,
            default: None,
            description: raw.description,
            fields,
        };
        if !raw.required && raw.default.is_none() {
            // Otherwise a run without it renders an empty value into
            // the vendor's form instead of failing before the browser.
            self.error_at(
                loc,
                path,
                "a parameter is either `required = true` or has a `default`",
            );
        }
        if let Some(d) = &raw.default {
            if raw.required {
                self.error_at(
                    loc,
                    path,
                    "a parameter is either required or has a default, not both",
                );
            }
            match crate::playbook::params::from_toml(&spec, d) {
                Ok(v) => spec.default = Some(v),
                Err(e) => self.error_at(
                    loc,
                    path,
                    format!("default does not match type {kind}: {e}"),
                ),
            }
        }
        self.params.insert(name, spec);
    }

    /// The typed fields of a list parameter; none for other types.
    fn param_fields(
        &mut self,
        kind: ParamType,
        written: Option<&BTreeMap<String, String>>,
        loc: &Location,
        path: &str,
    ) -> BTreeMap<String, ParamType> {
        let mut fields = BTreeMap::new();
        match (kind, written) {
            (ParamType::List, None) => self.error_at(
                loc,
                path,
                "a list parameter needs `fields = { name = \"type\", ... }`",
            ),
            (ParamType::List, Some(f)) => {
                for (field, t) in f {
                    match ParamType::parse(t) {
                        Some(ParamType::List) | None => self.error_at(
                            loc,
                            path,
                            format!("field `{field}` has type `{t}` (expected string, int, decimal, bool)"),
                        ),
                        Some(t) => {
                            fields.insert(field.clone(), t);
                        }
                    }
                }
            }
            (_, Some(_)) => self.error_at(loc, path, "`fields` only applies to `type = \"list\"`"),
            (_, None) => {}
        }
        fields
    }
}
