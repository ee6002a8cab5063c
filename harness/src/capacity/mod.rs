//! Capacity planning: the maximum sustainable throughput (MST) of a topology under an SLO,
//! found by a search over open-loop steps, and the planning figures drawn from it. Measurement
//! and judgement only; `report::capacity` formats it.

pub(crate) mod outcome;
pub(crate) mod overdrive;
pub(crate) mod search;
pub(crate) mod slo;
pub(crate) mod verdict;
