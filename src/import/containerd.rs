//! containerd's `config.toml` (config versions 1, 2 and 3) and the registry host files
//! (`certs.d/<host>/hosts.toml`). Read into `[runtime]`: the CRI plugin's
//! `max_concurrent_downloads` and `discard_unpacked_layers`; a `hosts.toml`'s `[host."..."]`
//! entries become the registry's `mirrors` (in file order, as containerd's
//! `remotes/docker/config/hosts.go` tries them, with their capabilities and dial timeout).
//! Listed as not used, with why: `image_pull_progress_timeout` (pullsim has no pull timeouts),
//! version 2's deprecated inline `registry.mirrors`, the snapshotter, and the transfer
//! service's own download limit when it differs.

use super::error::{ImportError, Origin};
use toml::{Table, Value};

/// One `[runtime]` key from a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
    /// The config key it comes from.
    pub field: String,
}

/// What a containerd config.toml says.
#[derive(Clone, Debug)]
pub struct ContainerdDoc {
    pub origin: Origin,
    pub version: i64,
    pub settings: Vec<Setting>,
    /// What is read but not used, with why.
    pub not_used: Vec<String>,
}

/// A `hosts.toml`: the registry it configures and its mirrors (as written, in file order).
#[derive(Clone, Debug)]
pub struct HostsDoc {
    pub origin: Origin,
    pub host: String,
    pub mirrors: Vec<String>,
    /// Each mirror as a scenario `mirrors` entry, in file order.
    pub entries: Vec<MirrorEntry>,
}

/// One `[host."..."]` of a `hosts.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorEntry {
    /// The `[host."..."]` key as written.
    pub key: String,
    /// Its host name (scheme and path dropped): the scenario registry it names.
    pub host: String,
    /// `capabilities` as written; `None`: containerd's default (pull, resolve).
    pub capabilities: Option<Vec<String>>,
    /// `dial_timeout` as written (a Go duration such as "200ms").
    pub dial_timeout: Option<String>,
}

/// What a TOML file is.
#[derive(Clone, Debug)]
pub enum Read {
    Containerd(ContainerdDoc),
    Hosts(HostsDoc),
    /// Neither: why.
    Other(String),
}

/// Reads a TOML file; `dir` is the name of the folder holding it (the host of a
/// `certs.d/<host>/hosts.toml`).
/// `text`, when given, is the file's text: it gives the order of the `[host."..."]` tables
/// (the parsed table keeps keys sorted).
pub fn read(o: &Origin, t: &Table, dir: Option<&str>, text: Option<&str>) -> Result<Read, ImportError> {
    if t.contains_key("version") || t.contains_key("plugins") {
        return containerd(o, t).map(Read::Containerd);
    }
    if t.contains_key("server") || t.contains_key("host") {
        return Ok(Read::Hosts(hosts(o, t, dir, text)));
    }
    Ok(Read::Other(
        "a TOML file that is neither containerd's config.toml (no `version` or `plugins`) nor a hosts.toml \
         (no `server` or `host`)"
            .to_string(),
    ))
}

fn table<'t>(t: &'t Table, key: &str) -> Option<&'t Table> {
    t.get(key).and_then(Value::as_table)
}

fn containerd(o: &Origin, t: &Table) -> Result<ContainerdDoc, ImportError> {
    let version = match t.get("version") {
        None => 1,
        Some(Value::Integer(v)) => *v,
        Some(other) => return Err(o.err("version", format!("expected 1, 2 or 3, got {other}"))),
    };
    let plugins = table(t, "plugins");
    let (cri_name, images_name) = match version {
        3 => ("io.containerd.cri.v1.images", "io.containerd.cri.v1.images"),
        2 => ("io.containerd.grpc.v1.cri", "io.containerd.grpc.v1.cri"),
        _ => ("cri", "cri"),
    };
    let cri = plugins.and_then(|p| table(p, cri_name));
    let images = plugins.and_then(|p| table(p, images_name));
    // Where discard_unpacked_layers and the snapshotter live: the CRI `containerd` table
    // before version 3, the images plugin from version 3.
    let containerd_table = if version == 3 { images } else { cri.and_then(|c| table(c, "containerd")) };
    let at = |name: &str, key: &str| format!("plugins.{name:?}.{key}");
    let mut doc = ContainerdDoc { origin: o.clone(), version, settings: Vec::new(), not_used: Vec::new() };
    if let Some(v) = images.and_then(|c| c.get("max_concurrent_downloads")) {
        let p = at(images_name, "max_concurrent_downloads");
        match v.as_integer() {
            Some(n) if n >= 1 => {
                doc.settings.push(Setting { key: "max_concurrent_downloads", value: n.to_string(), field: p })
            }
            _ => return Err(o.err(&p, format!("expected a whole number of at least 1, got {v}"))),
        }
    }
    if let Some(v) = containerd_table.and_then(|c| c.get("discard_unpacked_layers")) {
        let p = if version == 3 {
            at(images_name, "discard_unpacked_layers")
        } else {
            at(cri_name, "containerd.discard_unpacked_layers")
        };
        match v.as_bool() {
            Some(b) => {
                doc.settings.push(Setting { key: "discard_unpacked_layers", value: b.to_string(), field: p })
            }
            None => return Err(o.err(&p, format!("expected true or false, got {v}"))),
        }
    }
    if let Some(v) = images.and_then(|c| c.get("image_pull_progress_timeout")) {
        doc.not_used.push(format!(
            "image_pull_progress_timeout = {v}: pullsim does not model pull timeouts (a slow pull is never cancelled)"
        ));
    }
    if let Some(v) = containerd_table.and_then(|c| c.get("snapshotter")) {
        doc.not_used.push(format!("snapshotter = {v}: not modelled (layers unpack at runtime.unpack_rate)"));
    }
    let registry = images.and_then(|c| table(c, "registry"));
    if let Some(v) = registry.and_then(|r| r.get("config_path")) {
        doc.not_used.push(format!(
            "registry config_path = {v}: the hosts.toml files there are not read from here (import them: their mirrors become `mirrors`)"
        ));
    }
    if let Some(m) = registry.and_then(|r| table(r, "mirrors")) {
        let hosts: Vec<&str> = m.keys().map(String::as_str).collect();
        doc.not_used.push(format!(
            "registry.mirrors for {}: the deprecated inline mirrors are not read (write them as hosts.toml files and import those); containerd 2.1 falls back to 1.7's pull path when they are set",
            hosts.join(", ")
        ));
    }
    let transfer = plugins.and_then(|p| table(p, "io.containerd.transfer.v1.local"));
    if let Some(v) = transfer.and_then(|tr| tr.get("max_concurrent_downloads")) {
        let cri_value =
            doc.settings.iter().find(|s| s.key == "max_concurrent_downloads").map(|s| s.value.clone());
        if cri_value.as_deref() != Some(v.to_string().as_str()) {
            doc.not_used.push(format!(
                "transfer service max_concurrent_downloads = {v}: the CRI plugin's value is the one the kubelet's pulls use"
            ));
        }
    }
    Ok(doc)
}

fn hosts(o: &Origin, t: &Table, dir: Option<&str>, text: Option<&str>) -> HostsDoc {
    let server = t.get("server").and_then(Value::as_str).unwrap_or("");
    let from_server =
        server.trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/');
    // certs.d/_default/hosts.toml applies to every registry.
    let host = match dir {
        Some(d) if !d.is_empty() && d != "." => d.to_string(),
        _ if !from_server.is_empty() => from_server.to_string(),
        _ => "(unknown host)".to_string(),
    };
    let hosts = table(t, "host");
    let mut keys: Vec<String> = hosts.map(|h| h.keys().cloned().collect()).unwrap_or_default();
    // File order from the text (toml_edit keeps it), where the text parses.
    if let Some(doc) = text.and_then(|x| x.parse::<toml_edit::DocumentMut>().ok()) {
        if let Some(h) = doc.get("host").and_then(|h| h.as_table_like()) {
            let order: Vec<&str> = h.iter().map(|(k, _)| k).collect();
            keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
        }
    }
    let mut entries: Vec<MirrorEntry> = Vec::new();
    for key in &keys {
        let e = hosts.and_then(|h| table(h, key));
        let name = key.trim_start_matches("https://").trim_start_matches("http://");
        let name = name.split('/').next().unwrap_or(name).to_string();
        if name.is_empty() || entries.iter().any(|x| x.host == name) {
            continue;
        }
        let capabilities = e
            .and_then(|e| e.get("capabilities"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect());
        let dial_timeout = e.and_then(|e| e.get("dial_timeout")).and_then(Value::as_str).map(str::to_string);
        entries.push(MirrorEntry { key: key.clone(), host: name, capabilities, dial_timeout });
    }
    HostsDoc { origin: o.clone(), host, mirrors: keys, entries }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Table {
        s.parse().unwrap()
    }

    #[test]
    fn versions_two_and_three() {
        let o = Origin::new("config.toml", None);
        let v2 = parse(
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nmax_concurrent_downloads = 5\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\ndiscard_unpacked_layers = true\n",
        );
        let Read::Containerd(d) = read(&o, &v2, None, None).unwrap() else { panic!() };
        assert_eq!(d.settings.len(), 2);
        assert_eq!(d.settings[1].value, "true");
        let v3 = parse(
            "version = 3\n[plugins.'io.containerd.cri.v1.images']\nmax_concurrent_downloads = 3\nimage_pull_progress_timeout = '5m0s'\ndiscard_unpacked_layers = false\n",
        );
        let Read::Containerd(d) = read(&o, &v3, None, None).unwrap() else { panic!() };
        assert_eq!(d.settings[0].key, "max_concurrent_downloads");
        assert!(d.not_used[0].contains("timeouts"));
        let bad = parse(
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nmax_concurrent_downloads = \"three\"\n",
        );
        let e = read(&o, &bad, None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.toml: plugins.\"io.containerd.grpc.v1.cri\".max_concurrent_downloads: expected a whole number of at least 1, got \"three\""
        );
    }

    #[test]
    fn hosts_file() {
        let o = Origin::new("hosts.toml", None);
        let h = parse(
            "server = \"https://docker.io\"\n[host.\"https://mirror.example\"]\ncapabilities = [\"pull\"]\n",
        );
        let Read::Hosts(d) = read(&o, &h, None, None).unwrap() else { panic!() };
        assert_eq!(d.host, "docker.io");
        assert_eq!(d.mirrors, vec!["https://mirror.example".to_string()]);
        let Read::Hosts(d) = read(&o, &h, Some("ghcr.io"), None).unwrap() else { panic!() };
        assert_eq!(d.host, "ghcr.io");
    }

    #[test]
    fn hosts_mirrors_in_file_order_with_capabilities_and_timeouts() {
        let o = Origin::new("hosts.toml", None);
        let text = "server = \"https://registry-1.docker.io\"\n\
                    [host.\"https://zz.example/v2\"]\ncapabilities = [\"pull\"]\ndial_timeout = \"200ms\"\n\
                    [host.\"http://aa.example:5000\"]\n";
        let Read::Hosts(d) = read(&o, &parse(text), Some("docker.io"), Some(text)).unwrap() else { panic!() };
        let want = vec![
            MirrorEntry {
                key: "https://zz.example/v2".into(),
                host: "zz.example".into(),
                capabilities: Some(vec!["pull".into()]),
                dial_timeout: Some("200ms".into()),
            },
            MirrorEntry {
                key: "http://aa.example:5000".into(),
                host: "aa.example:5000".into(),
                capabilities: None,
                dial_timeout: None,
            },
        ];
        assert_eq!(d.entries, want, "file order, not sorted");
    }
}
