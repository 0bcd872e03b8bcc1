//! STUB: kube-scheduler ImageLocality score (pkg/scheduler/framework/plugins/imagelocality).

/// One container image already on the candidate node: its size and on how many nodes it is.
#[derive(Clone, Copy, Debug)]
pub struct PresentImage {
    pub size_bytes: u64,
    pub n_nodes_with_image: u32,
}

/// Score in [0, 100] for a node, given the pod's images present on it.
pub fn image_locality_score(present: &[PresentImage], n_nodes_total: u32, n_containers: usize) -> i64 {
    const MB: i64 = 1024 * 1024;
    let min = 23 * MB;
    let max = 1000 * MB * n_containers.max(1) as i64;
    let sum: i64 = present
        .iter()
        .map(|p| {
            (p.size_bytes as f64 * f64::from(p.n_nodes_with_image) / f64::from(n_nodes_total.max(1))) as i64
        })
        .sum();
    let s = sum.clamp(min, max);
    100 * (s - min) / (max - min)
}
