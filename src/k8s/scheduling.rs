//! kube-scheduler ImageLocality score, mirroring
//! `pkg/scheduler/framework/plugins/imagelocality/image_locality.go` (current upstream:
//! `calculatePriority(sumImageScores(...), len(initContainers)+len(containers))`).
//!
//! Constants: `mb = 1024*1024`, `minThreshold = 23*mb`, `maxContainerThreshold = 1000*mb`
//! per container, `MaxNodeScore = 100`. `scaledImageScore` uses float64 exactly as upstream
//! (`int64(float64(size) * (float64(numNodes)/float64(totalNumNodes)))`, truncation toward
//! zero); the final scaling is int64 arithmetic.

/// `mb` (a mebibyte).
pub const MB: i64 = 1024 * 1024;
/// `minThreshold`: below this sum a node scores 0.
pub const MIN_THRESHOLD_BYTES: i64 = 23 * MB;
/// `maxContainerThreshold`: the sum saturates at this × number of containers.
pub const MAX_CONTAINER_THRESHOLD_BYTES: i64 = 1000 * MB;
/// `framework.MaxNodeScore`.
pub const MAX_NODE_SCORE: i64 = 100;

/// One container image already on the candidate node: its size and on how many nodes it is.
#[derive(Clone, Copy, Debug)]
pub struct PresentImage {
    pub size_bytes: u64,
    pub n_nodes_with_image: u32,
}

/// Mirrors `scaledImageScore`: size scaled by the image's spread over the cluster, so images on
/// every node count fully and rare images count little (avoids "node heating"). A cluster of
/// 0 nodes (a division by zero upstream, impossible when scoring a node) scores 0.
pub fn scaled_image_score(image: &PresentImage, n_nodes_total: u32) -> i64 {
    if n_nodes_total == 0 {
        return 0;
    }
    let spread = f64::from(image.n_nodes_with_image) / f64::from(n_nodes_total);
    (image.size_bytes as f64 * spread) as i64
}

/// Mirrors `calculatePriority(sumScores, numContainers)`.
pub fn calculate_priority(sum_scores: i64, n_containers: usize) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD_BYTES * n_containers as i64;
    let s = if sum_scores < MIN_THRESHOLD_BYTES {
        MIN_THRESHOLD_BYTES
    } else if sum_scores > max_threshold {
        max_threshold
    } else {
        sum_scores
    };
    MAX_NODE_SCORE * (s - MIN_THRESHOLD_BYTES) / (max_threshold - MIN_THRESHOLD_BYTES)
}

/// Score in [0, 100] for a node. `present` has one entry per pod container (init and regular)
/// whose image is on the node (`sumImageScores`); `n_containers` = init + regular containers.
pub fn image_locality_score(present: &[PresentImage], n_nodes_total: u32, n_containers: usize) -> i64 {
    let sum: i64 = present.iter().map(|p| scaled_image_score(p, n_nodes_total)).sum();
    calculate_priority(sum, n_containers)
}

/// Mirrors `normalizedImageName`: append `:latest` when the last `:` is not after the last `/`
/// (how the scheduler looks a container image up in the node's image states).
pub fn normalized_image_name(name: &str) -> String {
    let colon = name.rfind(':').map_or(-1, |i| i as i64);
    let slash = name.rfind('/').map_or(-1, |i| i as i64);
    if colon <= slash {
        format!("{name}:latest")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The score never falls when the node holds one more of the pod's images: the
        /// simulator's ImageLocality placement prunes nodes on this (`model::scheduler`).
        #[test]
        fn score_grows_with_the_images_present(
            images in proptest::collection::vec((0u64..3_000_000_000, 1u32..50), 1..6),
            extra in (0u64..3_000_000_000, 1u32..50),
            n_containers in 1usize..6,
        ) {
            let present: Vec<PresentImage> = images
                .iter()
                .map(|&(size_bytes, n)| PresentImage { size_bytes, n_nodes_with_image: n })
                .collect();
            let mut more = present.clone();
            more.push(PresentImage { size_bytes: extra.0, n_nodes_with_image: extra.1 });
            let total = 50;
            prop_assert!(image_locality_score(&more, total, n_containers) >= image_locality_score(&present, total, n_containers));
        }
    }
}
