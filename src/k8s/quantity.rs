//! Kubernetes resource quantities (`k8s.io/apimachinery/pkg/api/resource` `ParseQuantity`),
//! the subset node status and pod requests use: decimal digits with an optional fraction, then
//! a binary suffix (`Ki` .. `Ei`), a decimal one (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`),
//! an exponent (`e3`, `E6`) or none. Computed exactly in integers and rounded up, as
//! `Quantity.Value()` and `MilliValue()` round "up to the nearest integer away from 0": CPU in
//! millicores (`"500m"`, `"2"`, `"1.5"`), memory, storage and pod counts as whole numbers
//! (`"64Gi"`, `"61779756Ki"`, `"110"`).

/// The quantity times `scale` (1000 for millicores, 1 for whole units), rounded up; `None`
/// when it is not a quantity or does not fit in a u64.
fn parse_scaled(text: &str, scale: u128) -> Option<u64> {
    let s = text.trim();
    let num_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if frac_part.len() > 18 || int_part.len() > 30 {
        return None;
    }
    let mantissa: u128 = format!("{int_part}{frac_part}").trim_start_matches('0').parse().unwrap_or(0);
    let frac_scale = 10u128.pow(frac_part.len() as u32);
    let (mul, div): (u128, u128) = match suffix {
        "" => (1, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1_000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        e if e.starts_with(['e', 'E']) => {
            let exp: u32 = e[1..].parse().ok().filter(|x| *x <= 30)?;
            (10u128.pow(exp), 1)
        }
        _ => return None,
    };
    let v = mantissa.checked_mul(mul)?.checked_mul(scale)?.div_ceil(frac_scale * div);
    u64::try_from(v).ok()
}

fn explained(text: &str, scale: u128) -> Result<u64, String> {
    parse_scaled(text, scale).ok_or_else(|| {
        let t = text.trim();
        let suffix = t.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        if suffix.len() < t.len() && !suffix.is_empty() && !suffix.starts_with(['e', 'E']) {
            format!("{text:?}: unknown suffix {suffix:?} (a Kubernetes quantity: Ki, Mi, Gi, Ti, m, k, M, G, T, ...)")
        } else {
            format!("{text:?}: expected a Kubernetes quantity like \"500m\" or \"64Gi\"")
        }
    })
}

/// CPU in millicores (`MilliValue`): `"500m"` → 500, `"2"` → 2000, `"1.5"` → 1500.
pub fn parse_cpu_milli(text: &str) -> Result<u64, String> {
    explained(text, 1000)
}

/// A whole quantity (`Value`): memory and storage in bytes (`"64Gi"` → 68719476736, `"1G"` →
/// 10^9), a pod count (`"110"`).
pub fn parse_memory_bytes(text: &str) -> Result<u64, String> {
    explained(text, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_by_hand() {
        assert_eq!(parse_cpu_milli("500m"), Ok(500));
        assert_eq!(parse_cpu_milli("2"), Ok(2000));
        assert_eq!(parse_cpu_milli("1.5"), Ok(1500));
        assert_eq!(parse_cpu_milli("15890m"), Ok(15890));
        assert_eq!(parse_cpu_milli("0.0001"), Ok(1), "rounded up to a millicore");
        assert_eq!(parse_memory_bytes("64Gi"), Ok(64 << 30));
        assert_eq!(parse_memory_bytes("61779756Ki"), Ok(61_779_756 * 1024));
        assert_eq!(parse_memory_bytes("1G"), Ok(1_000_000_000));
        assert_eq!(parse_memory_bytes("128974848"), Ok(128_974_848));
        assert_eq!(parse_memory_bytes("1.5Gi"), Ok(1_610_612_736));
        assert_eq!(parse_memory_bytes("12e3"), Ok(12_000));
        assert_eq!(parse_memory_bytes("7910m"), Ok(8), "Value() rounds up");
        assert!(parse_memory_bytes("64GB").unwrap_err().contains("unknown suffix \"GB\""));
        assert!(parse_cpu_milli("lots").is_err());
        assert!(parse_memory_bytes("1.2.3").is_err());
    }
}
