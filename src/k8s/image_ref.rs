//! STUB (to be replaced): image reference parsing, mirrors distribution/reference v0.6.0.
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    NameEmpty,
    InvalidFormat,
    NameContainsUppercase,
    NameTooLong,
    DigestUnsupported,
    DigestInvalidLength,
    DigestInvalidFormat,
    Identifier64Hex(String),
    RemoteNameNotLowercase(String),
    NoName(String),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid reference format")
    }
}

/// Empty strings mean "absent", as upstream.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: String,
    pub digest: String,
}

impl Reference {
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }
    pub fn string(&self) -> String {
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
    pub fn familiar_string(&self) -> String {
        self.string()
    }
}

pub fn parse_normalized_named(s: &str) -> Result<Reference, RefError> {
    if s.is_empty() || s.chars().any(|c| c.is_ascii_uppercase() || c.is_whitespace()) {
        return Err(RefError::InvalidFormat);
    }
    let (rest, digest) = match s.split_once('@') {
        Some((a, b)) => (a, b.to_string()),
        None => (s, String::new()),
    };
    let (name, tag) = match rest.rsplit_once(':') {
        Some((a, b)) if !b.contains('/') => (a, b.to_string()),
        _ => (rest, String::new()),
    };
    let (domain, path) = match name.split_once('/') {
        Some((d, p)) if d.contains('.') || d.contains(':') || d == "localhost" => {
            (d.to_string(), p.to_string())
        }
        Some(_) => ("docker.io".to_string(), name.to_string()),
        None => ("docker.io".to_string(), format!("library/{name}")),
    };
    Ok(Reference { domain, path, tag, digest })
}

pub fn parse_docker_ref(s: &str) -> Result<Reference, RefError> {
    let mut r = parse_normalized_named(s)?;
    if !r.digest.is_empty() {
        r.tag.clear();
    } else if r.tag.is_empty() {
        r.tag = "latest".into();
    }
    Ok(r)
}

/// Mirrors kubelet `parsers.ParseImageName`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageName {
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

pub fn parse_image_name(image: &str) -> Result<ImageName, String> {
    let r = parse_normalized_named(image).map_err(|e| format!("couldn't parse image name {image:?}: {e}"))?;
    let tag = if r.tag.is_empty() && r.digest.is_empty() { "latest".to_string() } else { r.tag.clone() };
    Ok(ImageName { repo: r.name(), tag, digest: r.digest })
}

pub fn apply_default_image_tag(image: &str) -> Result<String, String> {
    let n = parse_image_name(image)?;
    if n.digest.is_empty() && !n.tag.is_empty() && !image.ends_with(&format!(":{}", n.tag)) {
        Ok(format!("{image}:{}", n.tag))
    } else {
        Ok(image.to_string())
    }
}
