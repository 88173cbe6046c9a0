//! Typed parameters: declarations, values, and conversion from TOML, JSON
//! and `--param k=v` strings.

use super::error::excerpt;
use crate::money::Decimal;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Int,
    /// Exact decimal kept as its text (money and quantities are never floats).
    Decimal,
    Bool,
    /// A list of tables whose fields have scalar types.
    List,
}

impl ParamType {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "int" => Self::Int,
            "decimal" => Self::Decimal,
            "bool" => Self::Bool,
            "list" => Self::List,
            _ => return None,
        })
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::String => "string",
            Self::Int => "int",
            Self::Decimal => "decimal",
            Self::Bool => "bool",
            Self::List => "list",
        })
    }
}

pub type Row = BTreeMap<String, ParamValue>;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Str(String),
    Int(i64),
    Decimal(String),
    Bool(bool),
    List(Vec<Row>),
}

impl ParamValue {
    /// The value as template text; `None` for lists.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Self::Str(s) | Self::Decimal(s) => Some(s.clone()),
            Self::Int(i) => Some(i.to_string()),
            Self::Bool(b) => Some(b.to_string()),
            Self::List(_) => None,
        }
    }

    pub fn is_truthy(&self) -> bool {
        match self {
            Self::Str(s) | Self::Decimal(s) => !s.is_empty() && s != "0",
            Self::Int(i) => *i != 0,
            Self::Bool(b) => *b,
            Self::List(l) => !l.is_empty(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub kind: ParamType,
    pub required: bool,
    pub default: Option<ParamValue>,
    pub description: Option<String>,
    /// For lists: each item's fields and their (scalar) types.
    pub fields: BTreeMap<String, ParamType>,
}

/// Converts a scalar given as text (CLI, CSV) to `kind`.
pub fn scalar_from_text(kind: ParamType, text: &str) -> Result<ParamValue, String> {
    match kind {
        ParamType::String => Ok(ParamValue::Str(text.to_string())),
        ParamType::Int => text
            .trim()
            .parse()
            .map(ParamValue::Int)
            .map_err(|_| format!("expected an int, got `{}`", excerpt(text))),
        // Validated by the money parser, but kept as written: `4.50` stays
        // `4.50` for the page it is typed into.
        ParamType::Decimal => match Decimal::parse(text.trim()) {
            Ok(_) => Ok(ParamValue::Decimal(text.trim().to_string())),
            Err(e) => Err(format!(
                "expected a decimal like 4.50, got `{}`{}",
                excerpt(text),
                e.parse_problem()
                    .map(|problem| format!(": {problem}"))
                    .unwrap_or_default()
            )),
        },
        ParamType::Bool => match text.trim() {
            "true" | "yes" | "1" => Ok(ParamValue::Bool(true)),
            "false" | "no" | "0" => Ok(ParamValue::Bool(false)),
            _ => Err(format!("expected true or false, got `{}`", excerpt(text))),
        },
        ParamType::List => Err("a list cannot be given as text; use --params FILE".to_string()),
    }
}

/// Converts a JSON value (params files, job rows) to the declared type.
pub fn from_json(spec: &ParamSpec, value: &serde_json::Value) -> Result<ParamValue, String> {
    use serde_json::Value as J;
    fn scalar(kind: ParamType, v: &J) -> Result<ParamValue, String> {
        match (kind, v) {
            (ParamType::String, J::String(s)) => Ok(ParamValue::Str(s.clone())),
            (ParamType::Int, J::Number(n)) if n.is_i64() => {
                Ok(ParamValue::Int(n.as_i64().unwrap_or_default()))
            }
            (ParamType::Decimal, J::Number(n)) => scalar_from_text(kind, &n.to_string()),
            (ParamType::Decimal | ParamType::Int | ParamType::Bool, J::String(s)) => {
                scalar_from_text(kind, s)
            }
            (ParamType::Bool, J::Bool(b)) => Ok(ParamValue::Bool(*b)),
            (kind, other) => Err(format!("expected {kind}, got {}", json_kind(other))),
        }
    }
    match (spec.kind, value) {
        (ParamType::List, J::Array(items)) => {
            let mut rows = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let J::Object(obj) = item else {
                    return Err(format!(
                        "item {i}: expected a table, got {}",
                        json_kind(item)
                    ));
                };
                let mut row = Row::new();
                for (field, kind) in &spec.fields {
                    let v = obj
                        .get(field)
                        .ok_or_else(|| format!("item {i}: missing field `{field}`"))?;
                    row.insert(
                        field.clone(),
                        scalar(*kind, v).map_err(|e| format!("item {i}.{field}: {e}"))?,
                    );
                }
                if let Some(extra) = obj.keys().find(|k| !spec.fields.contains_key(*k)) {
                    return Err(format!("item {i}: unknown field `{extra}`"));
                }
                rows.push(row);
            }
            Ok(ParamValue::List(rows))
        }
        (kind, v) => scalar(kind, v),
    }
}

/// Converts a TOML value (defaults, TOML params files) to the declared type.
pub fn from_toml(spec: &ParamSpec, value: &toml::Value) -> Result<ParamValue, String> {
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    match (spec.kind, value) {
        (ParamType::Decimal, toml::Value::Float(_)) => {
            return Err("write decimals as strings (\"4.50\"), floats lose precision".to_string());
        }
        // In a playbook, types are written as TOML types: 5, true.
        (ParamType::Int, toml::Value::String(s)) => {
            return Err(format!(
                "expected an int, got the string \"{s}\" (write it without quotes)"
            ));
        }
        (ParamType::Bool, toml::Value::String(s)) => {
            return Err(format!(
                "expected true or false, got the string \"{s}\" (write it without quotes)"
            ));
        }
        _ => {}
    }
    from_json(spec, &json)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a table",
    }
}

/// Applies defaults and checks that every required parameter is present and
/// no undeclared one was given.
pub fn resolve(
    specs: &BTreeMap<String, ParamSpec>,
    mut given: BTreeMap<String, ParamValue>,
) -> Result<BTreeMap<String, ParamValue>, Vec<String>> {
    let mut errors = Vec::new();
    for name in given.keys() {
        if !specs.contains_key(name) {
            errors.push(format!("unknown parameter `{name}`"));
        }
    }
    let mut out = BTreeMap::new();
    for (name, spec) in specs {
        match given.remove(name).or_else(|| spec.default.clone()) {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None if spec.required => errors.push(format!(
                "missing required parameter `{name}` ({})",
                spec.kind
            )),
            None => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ParamType) -> ParamSpec {
        ParamSpec {
            name: "p".into(),
            kind,
            required: false,
            default: None,
            description: None,
            fields: BTreeMap::from([
                ("serial".to_string(), ParamType::String),
                ("quota".to_string(), ParamType::Int),
            ]),
        }
    }

    #[test]
    fn scalars_from_text() {
        assert_eq!(
            scalar_from_text(ParamType::Int, "5"),
            Ok(ParamValue::Int(5))
        );
        assert_eq!(
            scalar_from_text(ParamType::Int, "five").unwrap_err(),
            "expected an int, got `five`"
        );
        assert_eq!(
            scalar_from_text(ParamType::Decimal, "4.50"),
            Ok(ParamValue::Decimal("4.50".into()))
        );
        assert_eq!(
            scalar_from_text(ParamType::Decimal, " -0.125 "),
            Ok(ParamValue::Decimal("-0.125".into()))
        );
        assert_eq!(
            scalar_from_text(ParamType::Decimal, "12"),
            Ok(ParamValue::Decimal("12".into()))
        );
        assert!(scalar_from_text(ParamType::Decimal, "4.").is_err());
        assert!(scalar_from_text(ParamType::Decimal, ".5").is_err());
        assert!(scalar_from_text(ParamType::Decimal, "+1").is_err());
        assert!(scalar_from_text(ParamType::Decimal, "1,5").is_err());
        assert!(scalar_from_text(ParamType::Decimal, "").is_err());
        assert_eq!(
            scalar_from_text(ParamType::Decimal, "1e3").unwrap_err(),
            "expected a decimal like 4.50, got `1e3`: no exponents (write 1000, not 1e3)"
        );
        assert_eq!(
            scalar_from_text(ParamType::Bool, "yes"),
            Ok(ParamValue::Bool(true))
        );
    }

    #[test]
    fn lists_from_json() {
        let v = serde_json::json!([{"serial": "S1", "quota": 10}]);
        let out = from_json(&spec(ParamType::List), &v).unwrap();
        let ParamValue::List(rows) = out else {
            panic!()
        };
        assert_eq!(rows[0]["quota"], ParamValue::Int(10));
        let bad = serde_json::json!([{"serial": "S1"}]);
        assert_eq!(
            from_json(&spec(ParamType::List), &bad).unwrap_err(),
            "item 0: missing field `quota`"
        );
        let extra = serde_json::json!([{"serial": "S1", "quota": 1, "x": 2}]);
        assert_eq!(
            from_json(&spec(ParamType::List), &extra).unwrap_err(),
            "item 0: unknown field `x`"
        );
    }

    #[test]
    fn resolve_reports_all_problems() {
        let mut specs = BTreeMap::new();
        let mut s = spec(ParamType::String);
        s.required = true;
        specs.insert("name".to_string(), s);
        let given = BTreeMap::from([("nmae".to_string(), ParamValue::Str("x".into()))]);
        assert_eq!(
            resolve(&specs, given).unwrap_err(),
            [
                "unknown parameter `nmae`",
                "missing required parameter `name` (string)"
            ]
        );
    }
}
