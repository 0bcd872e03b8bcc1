//! Kubernetes resource quantities (`k8s.io/apimachinery/pkg/api/resource` `ParseQuantity`),
//! the subset that node allocatable and pod requests use: a decimal number with a binary
//! suffix (`Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`), a decimal suffix (`n`, `u`, `m`, `k`, `M`, `G`,
//! `T`, `P`, `E`) or none. CPU is counted in millicores (`"500m"`, `"2"`, `"1.5"`), memory in
//! bytes (`"64Gi"`, `"61779756Ki"`, `"1G"`); a value is rounded up to the unit, as the
//! scheduler reads `MilliValue()` and `Value()`.

/// The quantity's value times `scale` (1000 for millicores, 1 for bytes), rounded up.
fn parse_scaled(text: &str, scale: f64) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+')).unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    if number.is_empty() {
        return Err(format!("{text:?}: expected a Kubernetes quantity like \"500m\" or \"64Gi\""));
    }
    let multiplier: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        other => {
            return Err(format!(
            "{text:?}: unknown suffix {other:?} (a Kubernetes quantity: Ki, Mi, Gi, Ti, m, k, M, G, T, ...)"
        ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a Kubernetes quantity like \"500m\" or \"64Gi\""))?;
    let scaled = (value * multiplier * scale).ceil();
    if !scaled.is_finite() || scaled > u64::MAX as f64 {
        return Err(format!("{text:?}: too large"));
    }
    Ok(scaled as u64)
}

/// CPU in millicores: `"500m"` → 500, `"2"` → 2000, `"1.5"` → 1500.
pub fn parse_cpu_milli(text: &str) -> Result<u64, String> {
    parse_scaled(text, 1000.0)
}

/// Memory in bytes: `"64Gi"` → 68719476736, `"1G"` → 10^9.
pub fn parse_memory_bytes(text: &str) -> Result<u64, String> {
    parse_scaled(text, 1.0)
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
        assert!(parse_memory_bytes("64GB").unwrap_err().contains("unknown suffix \"GB\""));
        assert!(parse_cpu_milli("lots").is_err());
    }
}
