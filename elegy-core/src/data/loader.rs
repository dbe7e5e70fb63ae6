//! [`Loader`]: a [`Dataset`] built from a closure that yields samples or batches, with seeded
//! shuffling (a buffer, as streams need), batching with a partial last batch, and prefetching.

use rand::Rng;

use crate::data::{Batch, Batches, Dataset};
use crate::error::{Error, Result};
use crate::tensor::RngKey;

/// A fresh iterator over the source, one per epoch.
type Source = Box<dyn FnMut() -> Batches<'static> + Send>;

/// Builds a [`Dataset`] from a source of samples or of ready batches.
///
/// ```
/// use elegy_core::data::{Batch, Dataset, Loader};
/// use elegy_core::Tensor;
/// // A generator of samples: x = [i, i], y = i % 2.
/// let mut loader = Loader::from_samples(|| {
///     (0..10).map(|i| {
///         let i = i as f32;
///         Ok(Batch::xy(Tensor::from(vec![i, i]), Tensor::scalar(i % 2.0)))
///     })
/// })
/// .batch(4)
/// .shuffle(8, 0);
/// let sizes: Vec<usize> = loader
///     .batches(0)?
///     .map(|b| b.and_then(|b| b.num_samples()))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(sizes, vec![4, 4, 2]); // the partial last batch is kept
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub struct Loader {
    source: Source,
    /// Whether the source yields single samples (to be batched) or whole batches.
    samples: bool,
    batch_size: usize,
    shuffle: Option<(usize, u64)>,
    prefetch: usize,
}

impl Loader {
    /// A loader of samples (no batch axis), from a closure called once per epoch for a fresh
    /// iterator. Batched by 32 unless [`Loader::batch`] says otherwise.
    pub fn from_samples<F, I>(mut source: F) -> Loader
    where
        F: FnMut() -> I + Send + 'static,
        I: IntoIterator<Item = Result<Batch>>,
        I::IntoIter: Send + 'static,
    {
        Loader {
            source: Box::new(move || Box::new(source().into_iter())),
            samples: true,
            batch_size: 32,
            shuffle: None,
            prefetch: 2,
        }
    }

    /// A loader of ready batches, from a closure called once per epoch for a fresh iterator.
    pub fn from_batches<F, I>(mut source: F) -> Loader
    where
        F: FnMut() -> I + Send + 'static,
        I: IntoIterator<Item = Result<Batch>>,
        I::IntoIter: Send + 'static,
    {
        Loader {
            source: Box::new(move || Box::new(source().into_iter())),
            samples: false,
            batch_size: 0,
            shuffle: None,
            prefetch: 2,
        }
    }

    /// Batches `size` samples at a time (the last batch of a pass may be smaller).
    pub fn batch(mut self, size: usize) -> Loader {
        self.batch_size = size;
        self
    }

    /// Shuffles through a buffer of `buffer` elements (samples, or batches for a batch source),
    /// seeded by `seed` and the epoch: a stream need not fit in memory to be shuffled. A buffer
    /// at least as large as the stream shuffles it uniformly.
    pub fn shuffle(mut self, buffer: usize, seed: u64) -> Loader {
        self.shuffle = Some((buffer.max(1), seed));
        self
    }

    /// Loads up to `batches` batches ahead on a background thread (0: load in the training
    /// thread). 2 by default.
    pub fn prefetch(mut self, batches: usize) -> Loader {
        self.prefetch = batches;
        self
    }
}

impl Dataset for Loader {
    fn batches(&mut self, epoch: usize) -> Result<Batches<'_>> {
        if self.samples && self.batch_size == 0 {
            return Err(Error::invalid("Loader", "batch size must be at least 1"));
        }
        let mut stream = (self.source)();
        if let Some((buffer, seed)) = self.shuffle {
            let key = RngKey::new(seed).fold_in(epoch as u64);
            stream = Box::new(ShuffleBuffer::new(stream, buffer, key));
        }
        if self.samples {
            stream = Box::new(Batcher {
                samples: stream,
                size: self.batch_size,
                position: 0,
                failed: false,
            });
        }
        Ok(stream)
    }

    fn prefetch(&self) -> usize {
        self.prefetch
    }
}

/// tf.data's shuffle: keep `capacity` elements; yield a random one and put the next in its place.
struct ShuffleBuffer {
    inner: Batches<'static>,
    buffer: Vec<Batch>,
    capacity: usize,
    rng: rand_chacha::ChaCha8Rng,
    exhausted: bool,
}

impl ShuffleBuffer {
    fn new(inner: Batches<'static>, capacity: usize, key: RngKey) -> ShuffleBuffer {
        ShuffleBuffer {
            inner,
            buffer: Vec::with_capacity(capacity.min(1 << 16)),
            capacity,
            rng: key.rng(),
            exhausted: false,
        }
    }
}

impl Iterator for ShuffleBuffer {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        while !self.exhausted && self.buffer.len() < self.capacity {
            match self.inner.next() {
                Some(Ok(item)) => self.buffer.push(item),
                Some(Err(e)) => return Some(Err(e)),
                None => self.exhausted = true,
            }
        }
        if self.buffer.is_empty() {
            return None;
        }
        let pick = self.rng.random_range(0..self.buffer.len());
        Some(Ok(self.buffer.swap_remove(pick)))
    }
}

/// Groups samples into batches, keeping the partial last one.
struct Batcher {
    samples: Batches<'static>,
    size: usize,
    /// Samples yielded so far, for error messages.
    position: usize,
    failed: bool,
}

impl Iterator for Batcher {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.failed {
            return None;
        }
        // Room for a usual batch up front; a huge batch size grows as samples come.
        let mut group = Vec::with_capacity(self.size.min(4096));
        while group.len() < self.size {
            match self.samples.next() {
                Some(Ok(sample)) => group.push(sample),
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                None => break,
            }
        }
        if group.is_empty() {
            return None;
        }
        let first = self.position;
        self.position += group.len();
        let batch = Batch::stack(&group, first);
        self.failed = batch.is_err();
        Some(batch)
    }
}
