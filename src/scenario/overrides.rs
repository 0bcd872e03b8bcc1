//! `--set KEY=VALUE`: edits the parsed TOML document before it is deserialised, so an override
//! goes through exactly the same checks as a value written in the file.
//!
//! KEY is a dotted path. Elements of the top-level arrays of tables are selected by their
//! identifying key rather than by position: `node_pool`, `workload` and `image_set` by `name`,
//! `registry` by `host`, `image` by `ref`. Because hosts and references contain dots
//! (`registry.docker.io.bandwidth`), the element chosen is the one whose id is the longest prefix
//! of the rest of the path followed by `.`. Any array may also be indexed by position with
//! `[i]` (`workload.web.pod.containers[0].image`), which is how error messages print paths into
//! inline arrays. A key that does not exist yet is inserted (as an inline table for missing
//! intermediate tables); whether it is allowed there is decided later by deserialisation, so an
//! unknown key is still an error.
//!
//! VALUE is parsed as a TOML value when it is one (`7`, `false`, `[1, 2]`, `{ a = 1 }`, `"x"`),
//! and is otherwise taken as a bare string (`1Gbps`, `nginx:1.28`).

use super::load::Override;
use super::locate::{element_id_key, KeyPath};
use toml_edit::{DocumentMut, InlineTable, Item, TableLike, Value};

/// The value of an override as a TOML value (see the module doc).
pub fn parse_value(text: &str) -> Value {
    match text.trim().parse::<Value>() {
        Ok(v) => v,
        Err(_) => Value::from(text.trim()),
    }
}

/// Applies one override; returns the path it set (with element ids for display).
pub fn apply(doc: &mut DocumentMut, ov: &Override) -> Result<KeyPath, String> {
    let value = parse_value(&ov.value);
    let key = ov.key.trim();
    if key.is_empty() {
        return Err("empty key".to_string());
    }
    set_in_table(doc.as_table_mut(), key, &value, KeyPath::root(), key)
}

/// Splits the first key of `rest` (bare up to `.` or `[`, or a `"quoted"` key) from what follows.
fn split_key(rest: &str) -> Result<(String, &str), String> {
    if let Some(q) = rest.strip_prefix('"') {
        let end = q.find('"').ok_or_else(|| format!("unterminated quoted key in `{rest}`"))?;
        return Ok((q[..end].to_string(), &q[end + 1..]));
    }
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    if end == 0 {
        return Err(format!("empty key segment at `{rest}`"));
    }
    Ok((rest[..end].to_string(), &rest[end..]))
}

fn set_in_table(
    t: &mut dyn TableLike,
    rest: &str,
    value: &Value,
    path: KeyPath,
    full: &str,
) -> Result<KeyPath, String> {
    let (k, after) = split_key(rest)?;
    let path = path.key(&k);
    if after.is_empty() {
        let mut v = value.clone();
        // Keep the spacing and any trailing comment of the value being replaced.
        if let Some(old) = t.get(&k).and_then(Item::as_value) {
            *v.decor_mut() = old.decor().clone();
        }
        t.insert(&k, Item::Value(v));
        return Ok(path);
    }
    if t.get(&k).is_none() {
        if path.0.len() == 1 && element_id_key(&k).is_some() {
            return Err(format!("the scenario has no [[{k}]] to select from"));
        }
        t.insert(&k, Item::Value(Value::InlineTable(InlineTable::new())));
    }
    let child = t.get_mut(&k).ok_or_else(|| format!("cannot create `{path}`"))?;
    descend(child, after, value, path, &k, full)
}

/// `rest` starts with `.` or `[` and continues below `item` (the value of key `key`).
fn descend(
    item: &mut Item,
    rest: &str,
    value: &Value,
    path: KeyPath,
    key: &str,
    full: &str,
) -> Result<KeyPath, String> {
    if let Some(r) = rest.strip_prefix('[') {
        let end = r.find(']').ok_or_else(|| format!("missing `]` in `{full}`"))?;
        let index: usize =
            r[..end].trim().parse().map_err(|_| format!("`[{}]` is not an array index", &r[..end]))?;
        let after = &r[end + 1..];
        return match item {
            Item::ArrayOfTables(a) => {
                let len = a.len();
                let t = a.get_mut(index).ok_or_else(|| out_of_range(&path, index, len))?;
                continue_in_table(t, after, value, path.index(index, None), full)
            }
            Item::Value(Value::Array(a)) => {
                let len = a.len();
                let v = a.get_mut(index).ok_or_else(|| out_of_range(&path, index, len))?;
                let path = path.index(index, None);
                if after.is_empty() {
                    let decor = v.decor().clone();
                    *v = value.clone();
                    *v.decor_mut() = decor;
                    return Ok(path);
                }
                match v {
                    Value::InlineTable(t) => continue_in_table(t, after, value, path, full),
                    _ => Err(format!("`{path}` is not a table: cannot set `{full}`")),
                }
            }
            _ => Err(format!("`{path}` is not an array: cannot index it in `{full}`")),
        };
    }
    let r = rest.strip_prefix('.').ok_or_else(|| format!("expected `.` after `{path}` in `{full}`"))?;
    let id_key = if path.0.len() == 1 { element_id_key(key) } else { None };
    match item {
        Item::Table(t) => set_in_table(t, r, value, path, full),
        Item::Value(Value::InlineTable(t)) => set_in_table(t, r, value, path, full),
        Item::ArrayOfTables(a) => {
            let id_key = id_key.ok_or_else(|| format!("select an element of `{path}` with `[index]`"))?;
            let ids: Vec<Option<String>> = a.iter().map(|t| id_of(t, id_key)).collect();
            let (index, id) = select(&ids, r, &path, key, id_key)?;
            let t = a.get_mut(index).ok_or_else(|| out_of_range(&path, index, ids.len()))?;
            continue_in_table(t, &r[id.len()..], value, path.index(index, Some(&id)), full)
        }
        Item::Value(Value::Array(a)) => {
            let id_key = id_key.ok_or_else(|| format!("select an element of `{path}` with `[index]`"))?;
            let ids: Vec<Option<String>> =
                a.iter().map(|v| v.as_inline_table().and_then(|t| id_of(t, id_key))).collect();
            let (index, id) = select(&ids, r, &path, key, id_key)?;
            match a.get_mut(index) {
                Some(Value::InlineTable(t)) => {
                    continue_in_table(t, &r[id.len()..], value, path.index(index, Some(&id)), full)
                }
                _ => Err(format!("`{path}` element {index} is not a table")),
            }
        }
        _ => Err(format!("`{path}` is a value, not a table: cannot set `{full}`")),
    }
}

/// After an element: either `.key...` (set inside it) or `[..]` is not meaningful for tables.
fn continue_in_table(
    t: &mut dyn TableLike,
    after: &str,
    value: &Value,
    path: KeyPath,
    full: &str,
) -> Result<KeyPath, String> {
    match after.strip_prefix('.') {
        Some(r) if !r.is_empty() => set_in_table(t, r, value, path, full),
        _ => Err(format!("`{full}` names a whole element: add the key to set, e.g. `{path}.KEY`")),
    }
}

fn id_of(t: &dyn TableLike, id_key: &str) -> Option<String> {
    t.get(id_key).and_then(Item::as_str).map(str::to_string)
}

/// The element whose id is the longest prefix of `rest` followed by `.`.
fn select(
    ids: &[Option<String>],
    rest: &str,
    path: &KeyPath,
    key: &str,
    id_key: &str,
) -> Result<(usize, String), String> {
    let best = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| id.as_ref().map(|id| (i, id)))
        .filter(|(_, id)| {
            rest.len() > id.len() && rest.starts_with(id.as_str()) && rest[id.len()..].starts_with('.')
        })
        .max_by_key(|(_, id)| id.len());
    match best {
        Some((i, id)) => Ok((i, id.clone())),
        None => {
            let names: Vec<&str> = ids.iter().flatten().map(String::as_str).collect();
            Err(format!(
                "no [[{key}]] with {id_key} matching the start of `{rest}` (available {id_key}s: {}); \
                 write `{path}.<{id_key}>.<key>`",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ))
        }
    }
}

fn out_of_range(path: &KeyPath, index: usize, len: usize) -> String {
    format!("`{path}` has {len} element(s): index {index} is out of range")
}
