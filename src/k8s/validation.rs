//! API-server validation of the values pullsim takes as Kubernetes would: object names and
//! int-or-percent strings (k8s.io/apimachinery `pkg/util/validation`, k8s.io/kubernetes
//! `pkg/apis/apps/validation`).

/// `IsDNS1123Subdomain`: at most 253 characters, dot-separated labels of lower-case letters,
/// digits and `-`, each starting and ending with a letter or digit. What the API server
/// accepts as the name of most objects, a RuntimeClass's among them.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !s.is_empty() && s.len() <= 253 && s.split('.').all(label_ok)
}

/// The percentage of an int-or-percent string as `ValidatePositiveIntOrPercent` accepts it:
/// `IsValidPercent`'s `^[0-9]+%$` (no sign, space or decimals), read as the controller's
/// `getIntOrPercentValueSafely` does (`strconv.Atoi` of what precedes `%`). `None` when the
/// string is not such a percentage (or does not fit).
pub fn valid_percent(s: &str) -> Option<u32> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains() {
        for ok in ["runc", "gvisor", "kata-fc", "a.b-c.d", "0x"] {
            assert!(is_dns1123_subdomain(ok), "{ok}");
        }
        for bad in ["", "GVisor", "-runc", "runc-", "a..b", "a_b", &"a".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn percents() {
        assert_eq!(valid_percent("25%"), Some(25));
        assert_eq!(valid_percent("0%"), Some(0));
        for bad in ["25", "25 %", " 25%", "+25%", "-5%", "12.5%", "%", "99999999999%"] {
            assert_eq!(valid_percent(bad), None, "{bad}");
        }
    }
}
