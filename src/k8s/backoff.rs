//! STUB: client-go `flowcontrol.Backoff` without jitter.
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Entry {
    backoff: SimDuration,
    last_update: SimTime,
}

#[derive(Clone, Debug)]
pub struct Backoff<K: Ord + Clone> {
    initial: SimDuration,
    max: SimDuration,
    entries: BTreeMap<K, Entry>,
}

impl<K: Ord + Clone> Backoff<K> {
    pub fn new(initial: SimDuration, max: SimDuration) -> Self {
        Backoff { initial, max, entries: BTreeMap::new() }
    }
    fn expired(&self, now: SimTime, last: SimTime) -> bool {
        now.since(last).0 > self.max.0.saturating_mul(2)
    }
    pub fn next(&mut self, key: &K, now: SimTime) {
        let (initial, max) = (self.initial, self.max);
        let expired = self.entries.get(key).map(|e| self.expired(now, e.last_update)).unwrap_or(true);
        let e = self.entries.entry(key.clone()).or_insert(Entry { backoff: initial, last_update: now });
        e.backoff = if expired { initial } else { SimDuration((e.backoff.0.saturating_mul(2)).min(max.0)) };
        e.last_update = now;
    }
    pub fn is_in_backoff_since_update(&self, key: &K, now: SimTime) -> bool {
        match self.entries.get(key) {
            None => false,
            Some(e) if self.expired(now, e.last_update) => false,
            Some(e) => now.since(e.last_update) < e.backoff,
        }
    }
    pub fn get(&self, key: &K) -> SimDuration {
        self.entries.get(key).map(|e| e.backoff).unwrap_or_default()
    }
    pub fn gc(&mut self, now: SimTime) {
        let max2 = self.max.0.saturating_mul(2);
        self.entries.retain(|_, e| now.since(e.last_update).0 <= max2);
    }
    pub fn reset(&mut self, key: &K) {
        self.entries.remove(key);
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
