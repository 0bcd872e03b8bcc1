//! STUB: pull policy and its defaulting (mirrors `SetDefaults_Container`).
use super::image_ref::parse_image_name;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn parse(s: &str) -> Option<PullPolicy> {
        match s {
            "Always" => Some(PullPolicy::Always),
            "IfNotPresent" => Some(PullPolicy::IfNotPresent),
            "Never" => Some(PullPolicy::Never),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

pub fn default_pull_policy(image: &str) -> PullPolicy {
    match parse_image_name(image) {
        Ok(n) if n.tag == "latest" => PullPolicy::Always,
        _ => PullPolicy::IfNotPresent,
    }
}
