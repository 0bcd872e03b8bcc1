//! Key paths and their positions in the scenario text.
//!
//! Validation names what it complains about by a `KeyPath` (table keys and array positions);
//! `Locator` turns a path into a line and column using the spans `toml_edit` keeps when it parses,
//! and turns a byte offset from a deserialisation error back into the path it falls in. Paths
//! print in the `--set` syntax (`node_pool.workers.bandwidth`, `registry.docker.io.latency`) so
//! that a user can copy the key from an error message into an override.

use std::fmt;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Table, Value};

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    /// Array position; `id` is the element's identifying key (`name`, `host`, `ref`) when it has
    /// one, used only for display.
    Index {
        index: usize,
        id: Option<String>,
    },
}

/// A dotted key path from the document root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    pub fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, index: usize, id: Option<&str>) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index { index, id: id.map(str::to_string) });
        p
    }

    /// Structural prefix test (keys and positions; display ids are ignored).
    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        prefix.0.len() <= self.0.len()
            && prefix.0.iter().zip(&self.0).all(|(a, b)| match (a, b) {
                (Seg::Key(x), Seg::Key(y)) => x == y,
                (Seg::Index { index: x, .. }, Seg::Index { index: y, .. }) => x == y,
                _ => false,
            })
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        write!(f, ".")?;
                    }
                    if k.is_empty() || k.contains(['.', ' ', '"']) {
                        write!(f, "{k:?}")?;
                    } else {
                        write!(f, "{k}")?;
                    }
                }
                Seg::Index { id: Some(id), .. } => write!(f, ".{id}")?,
                Seg::Index { index, id: None } => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The key that identifies an element of a top-level array of tables, if it has one.
pub fn element_id_key(array: &str) -> Option<&'static str> {
    match array {
        "node_pool" | "workload" | "image_set" | "prepull" | "link" => Some("name"),
        "registry" => Some("host"),
        "image" => Some("ref"),
        _ => None,
    }
}

/// A node of the document while walking a path.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn get_key(self, k: &str) -> Option<(Option<Range<usize>>, Node<'a>)> {
        let (key, item) = match self {
            Node::Item(Item::Table(t)) | Node::Table(t) => t.get_key_value(k)?,
            Node::Item(Item::Value(Value::InlineTable(t))) | Node::Value(Value::InlineTable(t)) => {
                t.get_key_value(k)?
            }
            _ => return None,
        };
        Some((key.span().or_else(|| item_span(item)), Node::Item(item)))
    }

    fn get_index(self, i: usize) -> Option<(Option<Range<usize>>, Node<'a>)> {
        match self {
            Node::Item(Item::ArrayOfTables(a)) => a.get(i).map(|t| (t.span(), Node::Table(t))),
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                a.get(i).map(|v| (v.span(), Node::Value(v)))
            }
            _ => None,
        }
    }

    /// Children with their key span (for tables) and the path step to them.
    fn children(self) -> Vec<(Seg, Option<Range<usize>>, Node<'a>)> {
        let mut out = Vec::new();
        let table_like = match self {
            Node::Item(Item::Table(t)) | Node::Table(t) => Some(t as &dyn toml_edit::TableLike),
            Node::Item(Item::Value(Value::InlineTable(t))) | Node::Value(Value::InlineTable(t)) => {
                Some(t as &dyn toml_edit::TableLike)
            }
            _ => None,
        };
        if let Some(t) = table_like {
            for (k, _) in t.iter() {
                if let Some((key, item)) = t.get_key_value(k) {
                    out.push((Seg::Key(k.to_string()), key.span(), Node::Item(item)));
                }
            }
        }
        match self {
            Node::Item(Item::ArrayOfTables(a)) => {
                for (i, t) in a.iter().enumerate() {
                    out.push((Seg::Index { index: i, id: None }, t.span(), Node::Table(t)));
                }
            }
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    out.push((Seg::Index { index: i, id: None }, v.span(), Node::Value(v)));
                }
            }
            _ => {}
        }
        out
    }

    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => item_span(i),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }

    /// Standard tables and arrays of tables are spread over the file: their own span does not
    /// cover their keys, so a search must always look inside them.
    fn is_scattered(self) -> bool {
        matches!(self, Node::Table(_) | Node::Item(Item::Table(_)) | Node::Item(Item::ArrayOfTables(_)))
    }

    fn id_of(self, key: &str) -> Option<String> {
        match self.get_key(key)?.1 {
            Node::Item(Item::Value(Value::String(s))) => Some(s.value().clone()),
            _ => None,
        }
    }
}

fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    }
}

/// Positions of keys in one scenario text.
pub struct Locator {
    doc: Option<ImDocument<String>>,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    text: String,
}

impl Locator {
    /// A locator over `text`; a text that does not parse still maps offsets to lines.
    pub fn new(text: &str) -> Locator {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator { doc: ImDocument::parse(text.to_string()).ok(), line_starts, text: text.to_string() }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line, col)
    }

    /// Span of the deepest existing part of `path` (the key itself when it exists; otherwise the
    /// nearest enclosing table or element, which is where a missing key belongs).
    pub fn span_of(&self, path: &KeyPath) -> Option<Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Item(doc.as_item());
        let mut best = None;
        for seg in &path.0 {
            let next = match seg {
                Seg::Key(k) => node.get_key(k),
                Seg::Index { index, .. } => node.get_index(*index),
            };
            let Some((span, child)) = next else { break };
            best = span.or(best);
            node = child;
        }
        best
    }

    /// Whether every step of `path` exists in the document.
    pub fn exists(&self, path: &KeyPath) -> bool {
        let Some(doc) = self.doc.as_ref() else { return false };
        let mut node = Node::Item(doc.as_item());
        for seg in &path.0 {
            let next = match seg {
                Seg::Key(k) => node.get_key(k),
                Seg::Index { index, .. } => node.get_index(*index),
            };
            match next {
                Some((_, child)) => node = child,
                None => return false,
            }
        }
        true
    }

    pub fn locate(&self, path: &KeyPath) -> Option<(usize, usize)> {
        self.span_of(path).map(|s| self.line_col(s.start))
    }

    /// The deepest key path whose key or value contains `offset`.
    pub fn path_at(&self, offset: usize) -> Option<KeyPath> {
        let doc = self.doc.as_ref()?;
        let mut path = KeyPath::root();
        let found = search(Node::Item(doc.as_item()), offset, &mut path, None);
        found.filter(|p| !p.0.is_empty())
    }
}

fn search(node: Node<'_>, offset: usize, path: &mut KeyPath, parent_key: Option<&str>) -> Option<KeyPath> {
    for (seg, key_span, child) in node.children() {
        let seg = match seg {
            // Top-level elements display by their identifying key, as `--set` selects them.
            Seg::Index { index, .. } if path.0.len() == 1 => {
                let id = parent_key.and_then(element_id_key).and_then(|k| child.id_of(k));
                Seg::Index { index, id }
            }
            s => s,
        };
        let key_name = match &seg {
            Seg::Key(k) => Some(k.clone()),
            Seg::Index { .. } => None,
        };
        path.0.push(seg);
        let in_key = key_span.as_ref().is_some_and(|s| s.contains(&offset));
        let in_value = child.span().is_some_and(|s| s.contains(&offset) || s.start == offset);
        if in_value || child.is_scattered() {
            if let Some(deeper) = search(child, offset, path, key_name.as_deref()) {
                return Some(deeper);
            }
        }
        if in_key || in_value {
            return Some(path.clone());
        }
        path.0.pop();
    }
    None
}
