//! Credential keyrings, mirroring `pkg/credentialprovider/keyring.go`: `BasicDockerKeyring.Add`
//! key normalisation, its reverse-sorted index, `Lookup` with the Docker Hub fallback
//! (`isDefaultRegistryMatch`), `URLsMatchStr` (with Go `filepath.Match` per host label) and
//! `UnionDockerKeyring` (pod secrets first, then the node keyring / credential plugins).
//!
//! The parts of Go's `net/url.Parse`, `net.SplitHostPort` and `path/filepath.Match` that these
//! functions depend on are reproduced here (no dependency), so malformed keys are rejected and
//! globs behave exactly as upstream (`*`, `?`, `[...]` with ranges and `^` negation, `\` escapes).

/// Docker Hub's legacy host: what `https://index.docker.io/v1/` normalises to
/// (`defaultRegistryHost`).
pub const DEFAULT_REGISTRY_HOST: &str = "index.docker.io";

/// The bad-pattern error of `filepath.Match` (`ErrBadPattern`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPattern;

// ------------------------------------------------------------------------------------------------
// net/url subset.

/// The `(host, path)` of `url.Parse("https://" + s)`, as `ParseSchemelessURL` uses them;
/// `None` where `url.Parse` returns an error.
pub fn parse_schemeless_url(s: &str) -> Option<(String, String)> {
    let full = format!("https://{s}");
    // url.Parse refuses ASCII control characters anywhere.
    if full.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    let (before_frag, frag) = match full.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (full.as_str(), None),
    };
    if let Some(f) = frag {
        unescape(f, Mode::Other)?;
    }
    let rest = &before_frag["https:".len()..];
    // The query never reaches host or path.
    let rest = rest.split_once('?').map_or(rest, |(a, _)| a);
    let after = &rest[2..]; // `//` is always there: we built the string.
    let (authority, raw_path) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    let host_part = match authority.rfind('@') {
        Some(i) => {
            if !valid_userinfo(&authority[..i]) {
                return None;
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    let host = parse_host(host_part)?;
    let path = unescape(raw_path, Mode::Other)?;
    Some((host, path))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Host,
    Other,
}

fn unhex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Go `url.unescape`: `%XX` must be valid hex; in a host, an escape of an ASCII byte other than
/// `%25` is refused, as is any ASCII byte that would need escaping there.
fn unescape(s: &str, mode: Mode) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let (h, l) = (b.get(i + 1).copied().and_then(unhex), b.get(i + 2).copied().and_then(unhex));
                let (Some(h), Some(l)) = (h, l) else {
                    return None;
                };
                if mode == Mode::Host && h < 8 && &s[i..i + 3] != "%25" {
                    return None;
                }
                out.push(h << 4 | l);
                i += 3;
            }
            c => {
                if mode == Mode::Host && c < 0x80 && host_char_needs_escape(c) {
                    return None;
                }
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Go `shouldEscape(c, encodeHost)` for ASCII bytes.
fn host_char_needs_escape(c: u8) -> bool {
    !(c.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&c))
}

/// Go `validUserinfo`.
fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|r| r.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(r))
}

/// Go `validOptionalPort`: empty, or `:` followed by digits only.
fn valid_optional_port(p: &str) -> bool {
    match p.strip_prefix(':') {
        None => p.is_empty(),
        Some(d) => d.bytes().all(|c| c.is_ascii_digit()),
    }
}

/// Go `url.parseHost` (without IPv6 zone handling, which registry keys do not use).
fn parse_host(host: &str) -> Option<String> {
    if host.starts_with('[') {
        let i = host.rfind(']')?;
        if !valid_optional_port(&host[i + 1..]) {
            return None;
        }
    } else if let Some(i) = host.rfind(':') {
        if !valid_optional_port(&host[i..]) {
            return None;
        }
    }
    unescape(host, Mode::Host)
}

/// Go `net.SplitHostPort`; `None` on any error (then `SplitURL` uses the whole host, port "").
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let i = hostport.rfind(':')?;
    let (host, j, k);
    if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        if end + 1 == hostport.len() || end + 1 != i {
            return None;
        }
        host = &hostport[1..end];
        j = 1;
        k = end + 1;
    } else {
        host = &hostport[..i];
        if host.contains(':') {
            return None;
        }
        j = 0;
        k = 0;
    }
    if hostport[j..].contains('[') || hostport[k..].contains(']') {
        return None;
    }
    Some((host, &hostport[i + 1..]))
}

/// Mirrors `SplitURL`: host labels split on `.`, and the port ("" when absent or unparsable).
fn split_url(host: &str) -> (Vec<&str>, &str) {
    let (h, port) = split_host_port(host).unwrap_or((host, ""));
    (h.split('.').collect(), port)
}

// ------------------------------------------------------------------------------------------------
// path/filepath.Match (Unix: separator `/`, `\` escapes).

/// Mirrors Go `filepath.Match(pattern, name)` on Unix.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern;
    let mut name = name;
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // Trailing `*` matches the rest unless it contains a separator.
            return Ok(!name.contains('/'));
        }
        let (t, ok, err) = match_chunk(chunk, name);
        // The last chunk must consume the whole name.
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if let Some(e) = err {
            return Err(e);
        }
        if star {
            // Try skipping i+1 bytes; `*` cannot skip `/`.
            let nb = name.as_bytes();
            let mut i = 0;
            while i < nb.len() && nb[i] != b'/' {
                if name.is_char_boundary(i + 1) {
                    let (t, ok, err) = match_chunk(chunk, &name[i + 1..]);
                    if ok {
                        if pattern.is_empty() && !t.is_empty() {
                            i += 1;
                            continue;
                        }
                        name = t;
                        continue 'pattern;
                    }
                    if let Some(e) = err {
                        return Err(e);
                    }
                }
                i += 1;
            }
        }
        // Before failing, check that the rest of the pattern is well formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if let (_, _, Some(e)) = match_chunk(chunk, "") {
                return Err(e);
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go `scanChunk`: leading stars, then the chunk up to the next unbracketed `*`.
fn scan_chunk(pattern: &str) -> (bool, &str, &str) {
    let mut p = pattern;
    let mut star = false;
    while let Some(r) = p.strip_prefix('*') {
        p = r;
        star = true;
    }
    let b = p.as_bytes();
    let mut inrange = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // An escape skips the next byte (a trailing `\\` is reported by `match_chunk`).
            b'\\' if i + 1 < b.len() => i += 1,
            b'[' => inrange = true,
            b']' => inrange = false,
            b'*' if !inrange => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

fn first_char(s: &str) -> Option<(char, &str)> {
    let mut it = s.chars();
    it.next().map(|c| (c, it.as_str()))
}

/// Go `matchChunk`: returns (rest of s, ok, error). After a mismatch the chunk is still parsed
/// so that malformed patterns report `ErrBadPattern`.
fn match_chunk<'a>(chunk: &str, s: &'a str) -> (&'a str, bool, Option<BadPattern>) {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        let c0 = chunk.as_bytes()[0];
        match c0 {
            b'[' => {
                let mut r = '\0';
                if !failed {
                    let (c, rest) = first_char(s).expect("non-empty");
                    r = c;
                    s = rest;
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if let Some(rest) = chunk.strip_prefix('^') {
                    negated = true;
                    chunk = rest;
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if nrange > 0 {
                        if let Some(rest) = chunk.strip_prefix(']') {
                            chunk = rest;
                            break;
                        }
                    }
                    let (lo, rest) = match get_esc(chunk) {
                        Ok(v) => v,
                        Err(e) => return ("", false, Some(e)),
                    };
                    chunk = rest;
                    let mut hi = lo;
                    if let Some(rest) = chunk.strip_prefix('-') {
                        match get_esc(rest) {
                            Ok((h, rest)) => {
                                hi = h;
                                chunk = rest;
                            }
                            Err(e) => return ("", false, Some(e)),
                        }
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s.as_bytes()[0] == b'/' {
                        failed = true;
                    }
                    s = first_char(s).expect("non-empty").1;
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c0 == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return ("", false, Some(BadPattern));
                    }
                }
                // Byte comparison, as Go does for literal characters.
                if !failed {
                    if chunk.as_bytes()[0] != s.as_bytes()[0] {
                        failed = true;
                    }
                    s = advance_byte(s);
                }
                chunk = advance_byte(chunk);
            }
        }
    }
    if failed {
        ("", false, None)
    } else {
        (s, true, None)
    }
}

/// Drops one byte; if that splits a UTF-8 sequence the remainder can never match a literal
/// byte-for-byte anyway, so the rest of the sequence is dropped too (keeps `&str` valid).
fn advance_byte(s: &str) -> &str {
    let mut i = 1;
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Go `getEsc`: one (possibly escaped) character of a range; errors on `-`, `]`, a trailing
/// escape, or when nothing follows (an unterminated class).
fn get_esc(chunk: &str) -> Result<(char, &str), BadPattern> {
    let mut chunk = chunk;
    match chunk.as_bytes().first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        _ => {}
    }
    let (r, rest) = first_char(chunk).ok_or(BadPattern)?;
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

// ------------------------------------------------------------------------------------------------
// keyring.go.

/// Mirrors `URLsMatchStr(glob, target)`: both parsed as `https://<s>`; match iff the ports are
/// equal (missing = ""), the hosts have the same number of labels, the target path has the
/// glob's path as a string prefix, and every label matches with `filepath.Match`. Unparsable
/// input or a bad pattern is a non-match (upstream returns the error, which `Lookup` ignores).
pub fn urls_match_str(glob: &str, target: &str) -> bool {
    let (Some((glob_host, glob_path)), Some((target_host, target_path))) =
        (parse_schemeless_url(glob), parse_schemeless_url(target))
    else {
        return false;
    };
    let (glob_parts, glob_port) = split_url(&glob_host);
    let (target_parts, target_port) = split_url(&target_host);
    if glob_port != target_port || glob_parts.len() != target_parts.len() {
        return false;
    }
    if !target_path.starts_with(glob_path.as_str()) {
        return false;
    }
    glob_parts.iter().zip(&target_parts).all(|(g, t)| glob_match(g, t) == Ok(true))
}

/// Mirrors the key computation of `BasicDockerKeyring.Add` for one docker-config entry:
/// add `https://` unless a scheme is given, URL-parse (unparsable → `None`, entry ignored),
/// drop a leading `/v1` or `/v2` from `/v1/…`/`/v2/…` paths, and key by host (with port) plus
/// the path unless the path is empty or `/`.
pub fn normalize_key(loc: &str) -> Option<String> {
    let value = if loc.starts_with("https://") || loc.starts_with("http://") {
        loc.to_string()
    } else {
        format!("https://{loc}")
    };
    // Both schemes have the same authority/path syntax; reuse the https parser on the rest.
    let schemeless =
        value.strip_prefix("https://").or_else(|| value.strip_prefix("http://")).unwrap_or(&value);
    let (host, path) = parse_schemeless_url(schemeless)?;
    let effective =
        if path.starts_with("/v2/") || path.starts_with("/v1/") { &path[3..] } else { path.as_str() };
    if !effective.is_empty() && effective != "/" {
        Some(format!("{host}{effective}"))
    } else {
        Some(host)
    }
}

/// Mirrors `isDefaultRegistryMatch(image)`: is `image` (a repo such as `docker.io/library/x`)
/// on Docker Hub?
pub fn is_default_registry_match(image: &str) -> bool {
    let (first, has_rest) = match image.split_once('/') {
        Some((f, _)) => (f, true),
        None => (image, false),
    };
    if first.is_empty() {
        return false;
    }
    if !has_rest {
        return true;
    }
    if first == "docker.io" || first == "index.docker.io" {
        return true;
    }
    !first.contains(['.', ':'])
}

/// Mirrors `BasicDockerKeyring`: credentials indexed by normalised key, looked up by image repo.
#[derive(Clone, Debug)]
pub struct Keyring<C: Clone> {
    /// (key, credentials in insertion order), keys unique and in reverse byte order.
    entries: Vec<(String, Vec<C>)>,
}

impl<C: Clone> Default for Keyring<C> {
    fn default() -> Self {
        Keyring { entries: Vec::new() }
    }
}

impl<C: Clone> Keyring<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Mirrors `BasicDockerKeyring.Add` for one docker-config entry key: the key is normalised
    /// (`normalize_key`), the credential appended under it, and the index kept de-duplicated and
    /// reverse-sorted (so `quay.io/coreos` precedes `quay.io`; purely byte order). Returns false
    /// (entry ignored) when the key does not parse as a URL.
    pub fn add(&mut self, key: &str, cred: C) -> bool {
        let Some(key) = normalize_key(key) else {
            return false;
        };
        match self.entries.binary_search_by(|(k, _)| key.as_str().cmp(k.as_str())) {
            Ok(i) => self.entries[i].1.push(cred),
            Err(i) => self.entries.insert(i, (key, vec![cred])),
        }
        true
    }

    /// The index keys in lookup order (reverse lexicographic).
    pub fn keys(&self) -> Vec<&str> {
        self.entries.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Mirrors `BasicDockerKeyring.Lookup(image)`; `image` is `ParseImageName(..).repo`. All
    /// credentials of every matching key, keys in index order; if none match and the image is a
    /// Docker Hub image, the credentials under `index.docker.io`.
    pub fn lookup(&self, image: &str) -> Vec<C> {
        if self.entries.is_empty() {
            // Most pods have no pull secrets: nothing can match, and the image is not parsed.
            return Vec::new();
        }
        let found: Vec<C> = self
            .entries
            .iter()
            .filter(|(k, _)| urls_match_str(k, image))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        if !found.is_empty() {
            return found;
        }
        if is_default_registry_match(image) {
            if let Some((_, v)) = self.entries.iter().find(|(k, _)| k == DEFAULT_REGISTRY_HOST) {
                return v.clone();
            }
        }
        Vec::new()
    }

    /// The keys whose credentials `lookup(image)` returns, in the order it tries them.
    pub fn matching_keys(&self, image: &str) -> Vec<String> {
        let keys: Vec<String> =
            self.entries.iter().filter(|(k, _)| urls_match_str(k, image)).map(|(k, _)| k.clone()).collect();
        if !keys.is_empty() {
            return keys;
        }
        if is_default_registry_match(image) && self.entries.iter().any(|(k, _)| k == DEFAULT_REGISTRY_HOST) {
            return vec![DEFAULT_REGISTRY_HOST.to_string()];
        }
        Vec::new()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Mirrors `UnionDockerKeyring.Lookup`: the concatenation of each keyring's lookup, in order.
/// The kubelet's order is pod pull secrets, then the node docker config, then credential-provider
/// plugins (`MakeDockerKeyring`).
pub fn lookup_union<C: Clone>(keyrings: &[&Keyring<C>], image: &str) -> Vec<C> {
    keyrings.iter().flat_map(|k| k.lookup(image)).collect()
}

/// What happened when the kubelet tried credentials for one pull attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialAttempts<C> {
    /// CRI PullImage calls made (each one a round of registry authentication).
    pub attempts: usize,
    /// The credential that worked (`None` when anonymous worked, or nothing did).
    pub used: Option<C>,
    pub succeeded: bool,
}

/// Mirrors the credential loop of `PullImage` in pkg/kubelet/kuberuntime/kuberuntime_image.go:
/// with no candidates, one anonymous PullImage; otherwise one PullImage per candidate, in
/// keyring order, until one succeeds. There is no anonymous fallback after every candidate
/// failed. `pull_with(None)` is the anonymous attempt.
pub fn try_credentials<C: Clone>(
    candidates: &[C],
    mut pull_with: impl FnMut(Option<&C>) -> bool,
) -> CredentialAttempts<C> {
    if candidates.is_empty() {
        let ok = pull_with(None);
        return CredentialAttempts { attempts: 1, used: None, succeeded: ok };
    }
    for (i, c) in candidates.iter().enumerate() {
        if pull_with(Some(c)) {
            return CredentialAttempts { attempts: i + 1, used: Some(c.clone()), succeeded: true };
        }
    }
    CredentialAttempts { attempts: candidates.len(), used: None, succeeded: false }
}

#[cfg(test)]
mod try_credentials_tests {
    use super::*;

    #[test]
    fn anonymous_once_then_each_candidate_in_order_without_fallback() {
        let none: [&str; 0] = [];
        assert_eq!(
            try_credentials(&none, |c| c.is_none()),
            CredentialAttempts { attempts: 1, used: None, succeeded: true }
        );
        let creds = ["a", "b", "c"];
        let r = try_credentials(&creds, |c| c == Some(&"b"));
        assert_eq!(r, CredentialAttempts { attempts: 2, used: Some("b"), succeeded: true });
        // All fail: three attempts, and the anonymous attempt is never made.
        let mut anonymous_tried = false;
        let r = try_credentials(&creds, |c| {
            anonymous_tried |= c.is_none();
            false
        });
        assert_eq!(r, CredentialAttempts { attempts: 3, used: None, succeeded: false });
        assert!(!anonymous_tried);
    }
}
