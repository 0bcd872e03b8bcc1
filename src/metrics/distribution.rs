//! What `summary.json` says of the shared links (`links`) and of peer-to-peer distribution
//! (`p2p`); both keys are left out of a scenario without `[[link]]` or `[p2p]`.

/// One `[[link]]` over the run (`summary.json` `links`, keyed by name).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LinkResult {
    #[serde(skip)]
    pub name: String,
    pub bandwidth_bytes_per_s: f64,
    /// Bytes of the downloads that crossed the link (aborted ones: what they moved).
    pub bytes: u64,
    /// Time the link carried at least one download.
    pub busy_s: f64,
    /// `bytes / busy_s` over `bandwidth`: how full the link was while in use (1 = it was the
    /// bottleneck the whole time it carried anything); `null` if it never did.
    pub utilization_while_busy: Option<f64>,
    /// The most downloads that crossed it at once.
    pub peak_downloads: u32,
}

/// `[p2p]` over the run (`summary.json` `p2p`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct P2pResult {
    pub mode: &'static str,
    /// Blob downloads that peers (Spegel) or a swarm (pieces) served to completion.
    pub blobs_from_peers: u64,
    pub bytes_from_peers: u64,
    /// Spegel: blob lookups that found no peer, so the registry served the blob.
    pub lookups_missed: u64,
    /// Spegel: preludes whose manifest came from a peer (no registry request at all).
    pub manifests_from_peers: u64,
}

/// `[LinkResult, ...]` as `{"<name>": {...}, ...}`, in the given order.
pub fn links_as_object<S: serde::Serializer>(v: &[LinkResult], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(v.len()))?;
    for l in v {
        m.serialize_entry(&l.name, l)?;
    }
    m.end()
}
