//! STUB: credential keyring (pkg/credentialprovider keyring.go).

/// Mirrors `URLsMatchStr(glob, target)`.
pub fn urls_match_str(glob: &str, target: &str) -> bool {
    target.starts_with(glob)
}

/// Mirrors `BasicDockerKeyring`: credentials indexed by key, looked up by image repo.
#[derive(Clone, Debug)]
pub struct Keyring<C: Clone> {
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
    /// Mirrors `BasicDockerKeyring.Add` for one docker-config entry key.
    pub fn add(&mut self, key: &str, cred: C) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => v.push(cred),
            None => self.entries.push((key.to_string(), vec![cred])),
        }
        self.entries.sort_by(|a, b| b.0.cmp(&a.0));
    }
    /// Mirrors `BasicDockerKeyring.Lookup(image)`; `image` is `ParseImageName(..).repo`.
    pub fn lookup(&self, image: &str) -> Vec<C> {
        self.entries
            .iter()
            .filter(|(k, _)| urls_match_str(k, image))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
