//! A rank's shard of a batch: its contiguous part, the shards of all ranks differing by at most
//! one sample.

use crate::data::{Batch, select_weights};
use crate::error::Result;
use crate::tensor::Tensor;

/// One rank's part of a batch.
pub(crate) struct Shard {
    /// The samples this rank trains on (one weightless sample when its part is empty).
    pub batch: Batch,
    /// The samples of the batch that are this rank's (0 for an empty part).
    pub local: usize,
    /// The samples of the whole batch.
    pub global: usize,
    /// Where this rank's part starts in the batch.
    pub offset: usize,
}

/// The range of `global` samples that rank `rank` of `world` takes: `global / world` each, one
/// more for the first `global % world` ranks.
pub(crate) fn shard_range(global: usize, rank: usize, world: usize) -> std::ops::Range<usize> {
    let (base, extra) = (global / world, global % world);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// Rank `rank`'s shard of `batch` among `world` ranks. A rank whose part is empty gets the
/// batch's first sample with weight 0, so that it runs the same steps as the others and adds
/// nothing.
pub(crate) fn shard_batch(batch: Batch, rank: usize, world: usize) -> Result<Shard> {
    let global = batch.num_samples()?;
    if world <= 1 {
        return Ok(Shard {
            batch,
            local: global,
            global,
            offset: 0,
        });
    }
    let range = shard_range(global, rank, world);
    let (offset, local) = (range.start, range.len());
    let (indices, weight): (Vec<usize>, Option<Tensor>) = if local == 0 {
        (vec![0], Some(Tensor::zeros(&[1])))
    } else {
        let indices: Vec<usize> = range.collect();
        let weight = select_weights(batch.sample_weight.as_ref(), &indices);
        (indices, weight)
    };
    let shard = Batch {
        x: batch.x.select(&indices)?,
        y: batch.y.as_ref().map(|y| y.select(&indices)).transpose()?,
        sample_weight: weight,
    };
    Ok(Shard {
        batch: shard,
        local,
        global,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::shard_range;

    #[test]
    fn shards_cover_the_batch_in_order_and_differ_by_at_most_one() {
        for global in 0..40 {
            for world in 1..7 {
                let ranges: Vec<_> = (0..world).map(|r| shard_range(global, r, world)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[world - 1].end, global);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let (min, max) = (
                    ranges.iter().map(|r| r.len()).min().unwrap(),
                    ranges.iter().map(|r| r.len()).max().unwrap(),
                );
                assert!(max - min <= 1, "{global} over {world}: {ranges:?}");
            }
        }
    }
}
