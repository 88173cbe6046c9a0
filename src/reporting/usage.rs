//! Usage quantities: exact decimals with a unit; storage in one unit, GiB
//! (binary), converted exactly. A quantity in GB (10^9 bytes) is a whole
//! number of bytes over 2^30, and every such fraction has a finite
//! decimal expansion, so no rounding is ever needed.

use crate::money::Decimal;

/// The one unit storage is kept in.
pub const STORAGE_UNIT: &str = "GiB";

/// A quantity and its unit, storage already in [`STORAGE_UNIT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    pub value: Decimal,
    pub unit: String,
}

/// (power of ten, power of two) by which a storage unit's count becomes
/// bytes: `GB` = 10^9, `GiB` = 2^30.
/// Units are matched without regard to case (`gb`, `GIB`): consoles
/// write them every way.
fn storage_factor(unit: &str) -> Option<(u32, u32)> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "b" | "byte" | "bytes" => (0, 0),
        "kb" => (3, 0),
        "mb" => (6, 0),
        "gb" => (9, 0),
        "tb" => (12, 0),
        "pb" => (15, 0),
        "kib" => (0, 10),
        "mib" => (0, 20),
        "gib" => (0, 30),
        "tib" => (0, 40),
        "pib" => (0, 50),
        _ => return None,
    })
}

/// `value × 10^tens × 2^twos / 2^30`, exactly; `None` on overflow.
fn to_gib(value: &Decimal, tens: u32, twos: u32) -> Option<Decimal> {
    let mut mantissa = value.mantissa().checked_mul(10i128.checked_pow(tens)?)?;
    let mut scale = value.scale();
    if twos >= 30 {
        mantissa = mantissa.checked_mul(2i128.checked_pow(twos - 30)?)?;
    } else {
        // Dividing by 2^k is multiplying by 5^k / 10^k.
        let k = 30 - twos;
        mantissa = mantissa.checked_mul(5i128.checked_pow(k)?)?;
        scale += k;
    }
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    Decimal::new(mantissa, scale)
}

/// Parses a scraped quantity and its unit: exact, never a float; storage
/// becomes GiB. Thousands separators (`1,250`) are refused rather than
/// guessed (is `1,250` 1250 or 1.25?): the playbook must normalise them.
pub fn quantity(text: &str, unit: &str) -> Result<Quantity, String> {
    let t = text.trim();
    let value = Decimal::parse(t).map_err(|e| format!("quantity `{t}`: {e}"))?;
    if value.is_negative() {
        return Err(format!("quantity `{t}` is negative"));
    }
    let unit = unit.trim();
    match storage_factor(unit) {
        Some((tens, twos)) => Ok(Quantity {
            value: to_gib(&value, tens, twos)
                .ok_or_else(|| format!("quantity `{t} {unit}` is too large"))?,
            unit: STORAGE_UNIT.to_string(),
        }),
        None if unit.is_empty() => Err(format!("quantity `{t}` has no unit")),
        None => Ok(Quantity {
            value,
            unit: unit.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, unit: &str) -> String {
        let q = quantity(text, unit).unwrap();
        format!("{} {}", q.value, q.unit)
    }

    #[test]
    fn storage_becomes_gib_exactly() {
        assert_eq!(q("259.10", "GiB"), "259.1 GiB");
        assert_eq!(q("1", "TiB"), "1024 GiB");
        assert_eq!(q("512", "MiB"), "0.5 GiB");
        // 10^9 / 2^30, to the last digit.
        assert_eq!(q("1", "GB"), "0.931322574615478515625 GiB");
        assert_eq!(q("1073741824", "B"), "1 GiB");
        assert_eq!(q("2", "gib"), "2 GiB");
        assert_eq!(q("1", "TIB"), "1024 GiB");
        assert_eq!(q("2.5", "TB"), "2328.3064365386962890625 GiB");
    }

    #[test]
    fn other_units_stay_and_bad_quantities_are_refused() {
        assert_eq!(q(" 8 ", "seat"), "8 seat");
        assert_eq!(q("3.50", "mailbox"), "3.50 mailbox");
        for (text, unit) in [
            ("1,250", "seat"),
            ("-1", "seat"),
            ("", "seat"),
            ("1e3", "GB"),
            ("5", " "),
        ] {
            assert!(quantity(text, unit).is_err(), "{text:?} {unit:?}");
        }
        assert!(quantity("99999999999999999999999999999", "PB").is_err());
    }
}
