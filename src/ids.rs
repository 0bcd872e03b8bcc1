//! Dense integer ids for simulation entities. State lives in `Vec`s indexed by these ids, so
//! iteration order is the id order and never depends on hashing.

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
        pub struct $name(pub u32);

        impl $name {
            pub fn idx(self) -> usize {
                self.0 as usize
            }
            pub fn from_idx(i: usize) -> Self {
                Self(u32::try_from(i).expect(concat!(stringify!($name), " overflow")))
            }
        }
    };
}

id_type!(/// A node of the cluster (index into `World::nodes`).
    NodeId);
id_type!(/// A node pool from the scenario.
    PoolId);
id_type!(/// A registry from the scenario.
    RegistryId);
id_type!(/// An image (declared, from an image set, or preloaded-only).
    ImageId);
id_type!(/// A layer blob; images that name the same layer `id` share one LayerId.
    LayerId);
id_type!(/// A pod.
    PodId);
id_type!(/// A workload from the scenario.
    WorkloadId);
id_type!(/// An image set from the scenario.
    ImageSetId);
id_type!(/// One kubelet pull attempt (one row of pulls.csv).
    PullId);
id_type!(/// One active blob download in the network model.
    FlowId);
id_type!(/// A distinct image string as pods write it (interned: `model::raw_image`).
    RawImageId);

impl crate::engine::idmap::DenseKey for LayerId {
    fn key(self) -> u32 {
        self.0
    }
}

impl crate::engine::idmap::DenseKey for ImageId {
    fn key(self) -> u32 {
        self.0
    }
}

/// A node's image-pull back-off key (`model`): the pod and the image string. The hash input
/// mixes both (keys may collide; the map compares whole keys): a pod usually has one entry,
/// so the pod id alone would nearly do, and the image string's id is spread over the bits
/// the pod ids of one node leave alike.
impl crate::engine::idmap::DenseKey for (PodId, RawImageId) {
    fn key(self) -> u32 {
        self.0 .0 ^ self.1 .0.wrapping_mul(0x9E37_79B9)
    }
}
