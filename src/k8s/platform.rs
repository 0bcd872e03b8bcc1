//! Architecture names as the runtime matches them against an image index: the GOARCH names
//! Kubernetes reports in `node.status.nodeInfo.architecture`, and the spellings people copy
//! from `uname -m` mapped onto them, as containerd's `platforms.Normalize` (`normalizeArch` in
//! github.com/containerd/platforms, `database.go`) does.

/// The architectures pullsim knows (GOARCH names).
pub const ARCHES: &[&str] =
    &["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"];

/// The GOARCH name for `arch`, lower-cased and with containerd's aliases applied
/// (`x86_64`/`x86-64` → `amd64`, `aarch64` → `arm64`, `i386`/`i686` → `386`, `armhf`/`armel` →
/// `arm`); `None` when it names no known architecture.
pub fn normalize_arch(arch: &str) -> Option<&'static str> {
    let a = arch.trim().to_ascii_lowercase();
    let alias = match a.as_str() {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i486" | "i586" | "i686" => "386",
        "armhf" | "armel" => "arm",
        other => other,
    };
    ARCHES.iter().copied().find(|k| *k == alias)
}

/// Whether an image with manifests for `platforms` (`None`: every architecture, as a
/// single-platform image that names none) can be pulled on `arch`: the runtime's platform
/// matcher finds a manifest in the index, or the pull fails with "no match for platform in
/// manifest".
pub fn has_manifest_for(platforms: Option<&[String]>, arch: &str) -> bool {
    platforms.is_none_or(|p| p.iter().any(|a| a == arch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_spellings_map_to_goarch() {
        for (given, want) in [
            ("x86_64", Some("amd64")),
            ("AMD64", Some("amd64")),
            ("aarch64", Some("arm64")),
            ("arm64", Some("arm64")),
            ("i686", Some("386")),
            ("armhf", Some("arm")),
            ("ppc64le", Some("ppc64le")),
            ("sparc", None),
            ("", None),
        ] {
            assert_eq!(normalize_arch(given), want, "{given}");
        }
    }

    #[test]
    fn platform_match() {
        let only_amd = vec!["amd64".to_string()];
        assert!(has_manifest_for(None, "arm64"));
        assert!(has_manifest_for(Some(&only_amd), "amd64"));
        assert!(!has_manifest_for(Some(&only_amd), "arm64"));
    }
}
