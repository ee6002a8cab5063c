//! Capacity planning: the maximum sustainable throughput (MST) of a topology under an SLO,
//! found by a search over open-loop steps, and the planning figures drawn from it. Measurement
//! and judgement only; `report::capacity` formats it.

pub mod outcome;
pub mod overdrive;
pub mod search;
pub mod slo;
pub mod verdict;
