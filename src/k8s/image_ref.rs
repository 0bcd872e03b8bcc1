//! Image reference parsing and normalisation, mirroring `distribution/reference` v0.6.0
//! (`reference.go`, `regexp.go`, `normalize.go`, `helpers.go`) plus go-digest v1.0.0 digest
//! validation, and the two kubelet wrappers built on it (`parsers.ParseImageName`,
//! `applyDefaultImageTag`).
//!
//! Upstream expresses the grammar as RE2 regular expressions. The grammar is small and every
//! alternative is separated by a character that cannot occur in its neighbours (`@` only before
//! the digest, `:` after the last `/` only before the tag, the domain only before the first `/`),
//! so the anchored match and its capture groups are computed here by hand, deterministically,
//! without a regex engine. Comments name the regexp each function replaces.

use std::fmt;

/// Default registry domain (`defaultDomain` in normalize.go).
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// Legacy Docker Hub domain rewritten to `docker.io` (`legacyDefaultDomain`).
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Namespace of Docker Hub official images (`officialRepoPrefix`).
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// Maximum length of the repository path, domain excluded (`NameTotalLengthMax`, v0.6.0).
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Tag applied when neither tag nor digest is given (`parsers.DefaultImageTag`).
pub const DEFAULT_TAG: &str = "latest";

/// The errors of `Parse`/`ParseNormalizedNamed`, with upstream's exact texts (see `Display`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// `ErrNameEmpty`.
    NameEmpty,
    /// `ErrReferenceInvalidFormat`.
    InvalidFormat,
    /// `ErrNameContainsUppercase`.
    NameContainsUppercase,
    /// `ErrNameTooLong`.
    NameTooLong,
    /// go-digest `ErrDigestUnsupported`.
    DigestUnsupported,
    /// go-digest `ErrDigestInvalidLength`.
    DigestInvalidLength,
    /// go-digest `ErrDigestInvalidFormat`.
    DigestInvalidFormat,
    /// `ParseNormalizedNamed` refuses a bare 64-hex identifier; carries the input.
    Identifier64Hex(String),
    /// `ParseNormalizedNamed`: the remote name (before the first `:`) is not lowercase.
    RemoteNameNotLowercase(String),
    /// `ParseNormalizedNamed`: the parsed reference has no name (carries its string).
    NoName(String),
}

impl RefError {
    /// The name of the upstream error value (as used by the test vectors' `error_kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            RefError::NameEmpty => "ErrNameEmpty",
            RefError::InvalidFormat => "ErrReferenceInvalidFormat",
            RefError::NameContainsUppercase => "ErrNameContainsUppercase",
            RefError::NameTooLong => "ErrNameTooLong",
            RefError::DigestUnsupported => "ErrDigestUnsupported",
            RefError::DigestInvalidLength => "ErrDigestInvalidLength",
            RefError::DigestInvalidFormat => "ErrDigestInvalidFormat",
            RefError::Identifier64Hex(_) => "ErrIdentifier64Hex",
            RefError::RemoteNameNotLowercase(_) => "ErrRemoteNameNotLowercase",
            RefError::NoName(_) => "ErrNoName",
        }
    }
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::NameEmpty => write!(f, "repository name must have at least one component"),
            RefError::InvalidFormat => write!(f, "invalid reference format"),
            RefError::NameContainsUppercase => write!(f, "repository name must be lowercase"),
            RefError::NameTooLong => {
                write!(f, "repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
            }
            RefError::DigestUnsupported => write!(f, "unsupported digest algorithm"),
            RefError::DigestInvalidLength => write!(f, "invalid checksum digest length"),
            RefError::DigestInvalidFormat => write!(f, "invalid checksum digest format"),
            RefError::Identifier64Hex(s) => {
                write!(f, "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
            }
            RefError::RemoteNameNotLowercase(s) => {
                write!(f, "invalid reference format: repository name ({s}) must be lowercase")
            }
            RefError::NoName(s) => write!(f, "reference {s} has no name"),
        }
    }
}

impl std::error::Error for RefError {}

/// Which upstream reference type `getBestReferenceType` (or `ParseAnyReference`) returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum RefType {
    /// `repository`: name only.
    #[default]
    Named,
    /// `taggedReference`: name and tag.
    NamedTagged,
    /// `canonicalReference`: name and digest.
    Canonical,
    /// `reference`: name, tag and digest (both kept).
    NamedTaggedDigested,
    /// `digestReference`: a digest without a name.
    Digest,
}

impl RefType {
    /// The label used by the test vectors (`ref_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefType::Named => "Named",
            RefType::NamedTagged => "NamedTagged",
            RefType::Canonical => "Canonical",
            RefType::NamedTaggedDigested => "NamedTaggedDigested",
            RefType::Digest => "Digest",
        }
    }
}

/// A parsed reference. Empty strings mean "absent", as upstream.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: String,
    pub digest: String,
    /// Which upstream type this is; `Digest` has empty domain/path/tag.
    pub ref_type: RefType,
}

impl Reference {
    /// Mirrors `repository.Name()`: `domain/path`, or `path` without a domain.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// Mirrors `Reference.String()`: `name[:tag][@digest]`; a digest reference is its digest.
    pub fn string(&self) -> String {
        if self.ref_type == RefType::Digest {
            return self.digest.clone();
        }
        let mut s = self.name();
        if !self.tag.is_empty() {
            s.push(':');
            s.push_str(&self.tag);
        }
        if !self.digest.is_empty() {
            s.push('@');
            s.push_str(&self.digest);
        }
        s
    }

    /// Mirrors `FamiliarName`: the name with `docker.io/` (and `library/` for official images
    /// without a further `/`) removed, as `familiarizeName` does.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                // Only single-component official names are shortened (upstream TODO notes
                // that `library/` could in theory be nested).
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// Mirrors `FamiliarString`: the familiar name plus `:tag` and `@digest`; a digest
    /// reference is its digest.
    pub fn familiar_string(&self) -> String {
        if self.ref_type == RefType::Digest {
            return self.digest.clone();
        }
        let mut s = self.familiar_name();
        if !self.tag.is_empty() {
            s.push(':');
            s.push_str(&self.tag);
        }
        if !self.digest.is_empty() {
            s.push('@');
            s.push_str(&self.digest);
        }
        s
    }
}

// ------------------------------------------------------------------------------------------------
// Grammar (regexp.go), one function per named sub-expression.

/// `alphanumeric = [a-z0-9]+` (one character).
fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `pathComponent = alphanumeric (separator alphanumeric)*` with
/// `separator = [._]|__|[-]+`. Separators contain no alphanumerics, so the component splits
/// into maximal alphanumeric runs and maximal separator runs; each separator run must be one
/// of `.`, `_`, `__` or `-+`, and the component must start and end with an alphanumeric.
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `remoteName = pathComponent (/ pathComponent)*`.
fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `domainNameComponent = [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]` (uppercase allowed).
fn is_domain_name_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
}

/// `domainAndPort = host (:[0-9]+)?` with `host = domainName | \[[a-fA-F0-9:]+\]`
/// (no IPv6 zone, no embedded IPv4).
fn is_domain_and_port(s: &str) -> bool {
    let (host, port) = if let Some(inner_and_rest) = s.strip_prefix('[') {
        let Some(close) = inner_and_rest.find(']') else {
            return false;
        };
        let inner = &inner_and_rest[..close];
        if inner.is_empty() || !inner.bytes().all(|c| c.is_ascii_hexdigit() || c == b':') {
            return false;
        }
        let rest = &inner_and_rest[close + 1..];
        (None, rest)
    } else {
        match s.find(':') {
            Some(i) => (Some(&s[..i]), &s[i..]),
            None => (Some(s), ""),
        }
    };
    if let Some(h) = host {
        if !h.split('.').all(is_domain_name_component) {
            return false;
        }
    }
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()),
    }
}

/// `tag = [\w][\w.-]{0,127}` (ASCII word characters; 1..=128 characters).
fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `digestPat = [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`.
fn is_digest_pattern(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// `anchoredIdentifierRegexp = ^[a-f0-9]{64}$`.
pub fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Capture groups of the anchored `ReferenceRegexp`: (name, tag, digest); `None` = no match.
fn match_reference(s: &str) -> Option<(&str, &str, &str)> {
    // `@` occurs in no sub-expression except as the digest separator.
    let (name_tag, digest) = match s.split_once('@') {
        Some((a, d)) => {
            if !is_digest_pattern(d) {
                return None;
            }
            (a, d)
        }
        None => (s, ""),
    };
    // A `:` after the last `/` can only start the tag: a port is always followed by `/`.
    let after_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[after_slash..].find(':') {
        Some(i) => {
            let cut = after_slash + i;
            let tag = &name_tag[cut + 1..];
            if !is_tag(tag) {
                return None;
            }
            (&name_tag[..cut], tag)
        }
        None => (name_tag, ""),
    };
    split_name(name)?;
    Some((name, tag, digest))
}

/// Capture groups of `anchoredNameRegexp = ^(?:(domainAndPort)/)?(remoteName)$`: the optional
/// domain group is greedy, so the first component is the domain whenever that parse works.
fn split_name(name: &str) -> Option<(&str, &str)> {
    if let Some((first, rest)) = name.split_once('/') {
        if is_domain_and_port(first) && is_remote_name(rest) {
            return Some((first, rest));
        }
    }
    if is_remote_name(name) {
        Some(("", name))
    } else {
        None
    }
}

// ------------------------------------------------------------------------------------------------
// go-digest v1.0.0.

/// Hex length of the registered algorithms: Kubernetes links `crypto/sha256` and
/// `crypto/sha512`, which registers sha256, sha384 and sha512.
fn registered_hex_len(algorithm: &str) -> Option<usize> {
    match algorithm {
        "sha256" => Some(64),
        "sha384" => Some(96),
        "sha512" => Some(128),
        _ => None,
    }
}

/// go-digest `DigestRegexpAnchored = ^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`.
fn is_go_digest_syntax(s: &str) -> bool {
    let Some((alg, enc)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['.', '+', '_', '-']).all(|c| !c.is_empty() && c.bytes().all(is_lower_alnum));
    alg_ok
        && !enc.is_empty()
        && enc.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'=' || c == b'_' || c == b'-')
}

/// Mirrors go-digest `Digest.Validate` (what `digest.Parse` runs): unknown algorithm →
/// unsupported (or invalid format if not even digest-shaped); wrong length → invalid length;
/// anything but lowercase hex → invalid format. Length is checked before the characters, so an
/// uppercase digest of the right length is `ErrDigestInvalidFormat`.
pub fn validate_digest(d: &str) -> Result<(), RefError> {
    let i = match d.find(':') {
        Some(i) if i > 0 && i + 1 != d.len() => i,
        _ => return Err(RefError::DigestInvalidFormat),
    };
    let (alg, enc) = (&d[..i], &d[i + 1..]);
    let Some(hex_len) = registered_hex_len(alg) else {
        return Err(if is_go_digest_syntax(d) {
            RefError::DigestUnsupported
        } else {
            RefError::DigestInvalidFormat
        });
    };
    if enc.len() != hex_len {
        return Err(RefError::DigestInvalidLength);
    }
    if enc.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        Ok(())
    } else {
        Err(RefError::DigestInvalidFormat)
    }
}

// ------------------------------------------------------------------------------------------------
// reference.go / normalize.go / helpers.go.

/// Mirrors `Parse` in distribution/reference v0.6.0 (no Docker Hub defaulting).
pub fn parse(s: &str) -> Result<Reference, RefError> {
    let Some((name, tag, digest)) = match_reference(s) else {
        if s.is_empty() {
            return Err(RefError::NameEmpty);
        }
        // Upstream re-matches the lower-cased string: a match means only case was wrong.
        let lower = s.to_lowercase();
        if match_reference(&lower).is_some() {
            return Err(RefError::NameContainsUppercase);
        }
        return Err(RefError::InvalidFormat);
    };
    let (domain, path) = split_name(name).unwrap_or(("", name));
    // v0.6.0 measures the path only: the domain no longer counts towards the 255 limit.
    if path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(RefError::NameTooLong);
    }
    if !digest.is_empty() {
        validate_digest(digest)?;
    }
    let ref_type = match (name.is_empty(), tag.is_empty(), digest.is_empty()) {
        (true, _, false) => RefType::Digest,
        (true, _, true) => return Err(RefError::NameEmpty),
        (false, true, true) => RefType::Named,
        (false, false, true) => RefType::NamedTagged,
        (false, true, false) => RefType::Canonical,
        (false, false, false) => RefType::NamedTaggedDigested,
    };
    Ok(Reference {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.to_string(),
        digest: digest.to_string(),
        ref_type,
    })
}

/// Mirrors `splitDockerDomain`: the first component is a registry only when it is `localhost`,
/// contains `.` or `:`, or contains uppercase; otherwise the name is on Docker Hub, and a
/// single-component Hub name goes to `library/`.
pub fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.find('/') {
        Some(i) => {
            let first = &name[..i];
            let is_registry =
                first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first;
            if is_registry {
                (first.to_string(), name[i + 1..].to_string())
            } else {
                (DEFAULT_DOMAIN.to_string(), name.to_string())
            }
        }
        None => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Mirrors `ParseNormalizedNamed` (what the kubelet uses): refuses 64-hex identifiers,
/// applies Docker Hub defaulting, requires a lowercase remote name, then `Parse`s
/// `domain/remainder`.
pub fn parse_normalized_named(s: &str) -> Result<Reference, RefError> {
    if is_identifier(s) {
        return Err(RefError::Identifier64Hex(s.to_string()));
    }
    let (domain, remainder) = split_docker_domain(s);
    let remote_name = match remainder.find(':') {
        Some(i) => &remainder[..i],
        None => remainder.as_str(),
    };
    if remote_name.to_lowercase() != remote_name {
        return Err(RefError::RemoteNameNotLowercase(remote_name.to_string()));
    }
    let r = parse(&format!("{domain}/{remainder}"))?;
    if r.ref_type == RefType::Digest {
        return Err(RefError::NoName(r.string()));
    }
    Ok(r)
}

/// Mirrors `ParseDockerRef`: normalise, keep only the digest when both tag and digest are
/// given, and add `:latest` to a bare name (`TagNameOnly`).
pub fn parse_docker_ref(s: &str) -> Result<Reference, RefError> {
    let mut r = parse_normalized_named(s)?;
    match r.ref_type {
        RefType::NamedTaggedDigested => {
            r.tag.clear();
            r.ref_type = RefType::Canonical;
        }
        RefType::Named => {
            r.tag = DEFAULT_TAG.to_string();
            r.ref_type = RefType::NamedTagged;
        }
        _ => {}
    }
    Ok(r)
}

/// Mirrors `ParseAnyReference`: a 64-hex identifier is `sha256:<hex>`, a valid bare digest is a
/// digest reference, anything else goes through `ParseNormalizedNamed`.
pub fn parse_any_reference(s: &str) -> Result<Reference, RefError> {
    let digest_ref = |d: String| Reference { digest: d, ref_type: RefType::Digest, ..Reference::default() };
    if is_identifier(s) {
        return Ok(digest_ref(format!("sha256:{s}")));
    }
    if validate_digest(s).is_ok() {
        return Ok(digest_ref(s.to_string()));
    }
    parse_normalized_named(s)
}

/// Go's `%q` for the strings that appear in kubelet messages: double quotes with `\"`, `\\`
/// and control characters escaped (printable Unicode is kept, as `strconv.Quote` does).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let v = c as u32;
                if v <= 0xffff {
                    out.push_str(&format!("\\u{v:04x}"));
                } else {
                    out.push_str(&format!("\\U{v:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Mirrors kubelet `parsers.ParseImageName`: (fully qualified repo, tag, digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageName {
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

/// Mirrors `pkg/util/parsers.ParseImageName`: `ParseNormalizedNamed`, repo = `Name()`, and tag
/// `latest` when neither tag nor digest was given. Error: `couldn't parse image name "<image>": <cause>`.
pub fn parse_image_name(image: &str) -> Result<ImageName, String> {
    let r = parse_normalized_named(image)
        .map_err(|e| format!("couldn't parse image name {}: {e}", go_quote(image)))?;
    let tag = if r.tag.is_empty() && r.digest.is_empty() { DEFAULT_TAG.to_string() } else { r.tag.clone() };
    Ok(ImageName { repo: r.name(), tag, digest: r.digest })
}

/// Mirrors `applyDefaultImageTag` (image_manager.go): appends `:latest` to the *original*
/// string when there is no digest and it does not already end in `:tag`; the name is never
/// rewritten to `docker.io/...` so the CRI sees what the pod spec says.
pub fn apply_default_image_tag(image: &str) -> Result<String, String> {
    let n = parse_image_name(image)?;
    if n.digest.is_empty() && !n.tag.is_empty() && !image.ends_with(&format!(":{}", n.tag)) {
        Ok(format!("{image}:{}", n.tag))
    } else {
        Ok(image.to_string())
    }
}
