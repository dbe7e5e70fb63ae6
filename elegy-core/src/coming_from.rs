//! # Coming from NumPy or Keras
//!
//! Where to find what you already know. Every tensor holds `f32`; an op that can fail on its
//! arguments (shapes, axes) returns a [`Result`](crate::Result), and axes are `isize`, negative
//! from the end as in NumPy. rustdoc's search finds the NumPy spellings too (`concatenate`,
//! `expand_dims`, `clip`, `where`, ...): they are aliases of the methods below.
//!
//! ## Arrays
//!
//! | operation | NumPy | elegy |
//! | --- | --- | --- |
//! | from values | `np.array(v).reshape(2, 3)` | [`Tensor::from_vec`](crate::Tensor::from_vec)`(v, &[2, 3])?` |
//! | zeros, ones, a constant | `np.zeros((2, 3))`, `np.ones`, `np.full` | [`Tensor::zeros`](crate::Tensor::zeros)`(&[2, 3])`, [`Tensor::ones`](crate::Tensor::ones), [`Tensor::full`](crate::Tensor::full) |
//! | `0, 1, ..., n-1` | `np.arange(n)` | [`Tensor::arange`](crate::Tensor::arange)`(n)` |
//! | random values | `rng.uniform`, `rng.normal` | [`Tensor::uniform`](crate::Tensor::uniform), [`Tensor::normal`](crate::Tensor::normal), with an [`RngKey`](crate::RngKey) |
//! | shape, axes, size | `a.shape`, `a.ndim`, `a.size` | [`Tensor::shape`](crate::Tensor::shape), [`Tensor::ndim`](crate::Tensor::ndim), [`Tensor::len`](crate::Tensor::len) |
//! | the one value | `a.item()` | [`Tensor::item`](crate::Tensor::item)`()?` |
//! | values out | `a.ravel().tolist()`, `np.asarray(a)` | [`Tensor::to_vec`](crate::Tensor::to_vec), [`Tensor::to_array`](crate::Tensor::to_array), [`Tensor::view`](crate::Tensor::view) |
//! | print | `print(a)`, `repr(a)` | `println!("{a}")`, `println!("{a:?}")` (with the shape) |
//! | element-wise | `a + b`, `a - b`, `a * b`, `a / b` | [`Tensor::add`](crate::Tensor::add)`(&b)?`, [`Tensor::sub`](crate::Tensor::sub), [`Tensor::mul`](crate::Tensor::mul), [`Tensor::div`](crate::Tensor::div) (broadcasting) |
//! | with a number | `a * 2`, `a + 1`, `1 - a` | [`Tensor::mul_scalar`](crate::Tensor::mul_scalar)`(2.0)`, [`Tensor::add_scalar`](crate::Tensor::add_scalar), [`Tensor::rsub_scalar`](crate::Tensor::rsub_scalar) |
//! | powers | `a ** p`, `np.square`, `np.sqrt` | [`Tensor::powf`](crate::Tensor::powf), [`Tensor::square`](crate::Tensor::square), [`Tensor::sqrt`](crate::Tensor::sqrt) |
//! | comparisons | `a > b`, `a <= b` | [`Tensor::gt`](crate::Tensor::gt)`(&b)?`, [`Tensor::le`](crate::Tensor::le) (masks of 0 and 1) |
//! | clip | `np.clip(a, lo, hi)` | [`Tensor::clamp`](crate::Tensor::clamp)`(lo, hi)?` |
//! | choose | `np.where(mask, a, b)` | [`Tensor::where_cond`](crate::Tensor::where_cond)`(&mask, &a, &b)?` |
//! | matrix product | `a @ b`, `np.matmul`, `np.dot` | [`Tensor::matmul`](crate::Tensor::matmul)`(&b)?` |
//! | sum, mean, max, min, variance | `a.sum(axis=1, keepdims=True)`, `a.mean(0)` | [`Tensor::sum`](crate::Tensor::sum)`(&[1], true)?`, [`Tensor::mean`](crate::Tensor::mean)`(&[0], false)?`, [`Tensor::max`](crate::Tensor::max), [`Tensor::min`](crate::Tensor::min), [`Tensor::var`](crate::Tensor::var) |
//! | over all elements | `a.sum()`, `a.mean()` | [`Tensor::sum_all`](crate::Tensor::sum_all), [`Tensor::mean_all`](crate::Tensor::mean_all) |
//! | index of the largest | `a.argmax(axis=1)` | [`Tensor::argmax`](crate::Tensor::argmax)`(1)?` |
//! | log-sum-exp | `scipy.special.logsumexp` | [`Tensor::logsumexp`](crate::Tensor::logsumexp) |
//! | reshape | `a.reshape(2, -1)` | [`Tensor::reshape`](crate::Tensor::reshape)`(&[2, -1])?` |
//! | flatten all | `a.ravel()` | [`Tensor::reshape`](crate::Tensor::reshape)`(&[-1])?` ([`Tensor::flatten`](crate::Tensor::flatten) keeps the batch axis, as Keras' `Flatten`) |
//! | transpose | `a.T`, `np.transpose(a, axes)` | [`Tensor::transpose`](crate::Tensor::transpose)`()?` (2-D), [`Tensor::permute`](crate::Tensor::permute)`(&axes)?` |
//! | add, remove an axis | `np.expand_dims(a, 1)`, `a[:, None]`, `np.squeeze(a, 1)` | [`Tensor::unsqueeze`](crate::Tensor::unsqueeze)`(1)?`, [`Tensor::squeeze`](crate::Tensor::squeeze)`(1)?` |
//! | broadcast | `np.broadcast_to(a, shape)` | [`Tensor::broadcast_to`](crate::Tensor::broadcast_to) |
//! | join | `np.concatenate([a, b], axis)`, `np.stack` | [`Tensor::concat`](crate::Tensor::concat)`(&[a, b], axis)?`, [`Tensor::stack`](crate::Tensor::stack) |
//! | a range of an axis | `a[:, 2:5]` | [`Tensor::slice`](crate::Tensor::slice)`(1, 2, 5)?` |
//! | pick along an axis | `np.take(a, [0, 2], axis=1)`, `np.take_along_axis` | [`Tensor::index_select`](crate::Tensor::index_select)`(1, &[0, 2])?`, [`Tensor::gather`](crate::Tensor::gather) |
//! | rows by index tensor | `table[ids]` | [`Tensor::take`](crate::Tensor::take)`(&ids)?` |
//! | one-hot | `np.eye(k)[labels]`, `keras.utils.to_categorical` | [`Tensor::one_hot`](crate::Tensor::one_hot)`(&labels, k)?` |
//! | softmax | `scipy.special.softmax(a, axis)` | [`Tensor::softmax`](crate::Tensor::softmax)`(axis)?`, [`Tensor::log_softmax`](crate::Tensor::log_softmax) |
//!
//! ## Gradients
//!
//! | operation | JAX / PyTorch / TensorFlow | elegy |
//! | --- | --- | --- |
//! | gradients of a function | `jax.grad`, `jax.value_and_grad`, `tf.GradientTape` | [`grad`](crate::grad), [`value_and_grad`](crate::value_and_grad) |
//! | a parameter | `torch.tensor(v, requires_grad=True)` | [`Tensor::param`](crate::Tensor::param), [`Tensor::tracked`](crate::Tensor::tracked) |
//! | stop gradients | `jax.lax.stop_gradient`, `t.detach()` | [`Tensor::detach`](crate::Tensor::detach) |
//!
//! ## Models and training
//!
//! | operation | Keras | elegy |
//! | --- | --- | --- |
//! | layers in a row | `keras.Sequential([Dense(64), ...])` | [`Sequential`](crate::module::Sequential), [`Linear`](crate::module::layers::Linear)`::new(64)`, [`Mlp`](crate::module::layers::Mlp) |
//! | a model of your own | `class M(keras.Model)` with `call` / `train_step` | `impl` [`Model`](crate::Model) with `pred_step` / `train_step` and `#[step]` |
//! | compile | `model.compile(optimizer, loss, metrics)` | [`Runner::new`](crate::Runner::new)`(model)` (or [`Runner::for_module`](crate::Runner::for_module)) `.optimizer(..).loss(..).metric(..).build()?` |
//! | fit | `model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2)` | [`Runner::fit`](crate::Runner::fit)`(x, y, FitOptions { epochs: 5, batch_size: 32, validation_split: 0.2, ..Default::default() })?` |
//! | evaluate | `model.evaluate(x, y)` | [`Runner::evaluate`](crate::Runner::evaluate) |
//! | predict | `model.predict(x)` | [`Runner::predict`](crate::Runner::predict)`(x, PredictOptions::default())?.into_tensor()?` (see [`Data::into_tensor`](crate::Data::into_tensor)) |
//! | one batch | `train_on_batch`, `test_on_batch`, `predict_on_batch` | [`Runner::train_on_batch`](crate::Runner::train_on_batch), [`Runner::test_on_batch`](crate::Runner::test_on_batch), [`Runner::predict_on_batch`](crate::Runner::predict_on_batch) |
//! | summary | `model.summary()` | [`Runner::summary`](crate::Runner::summary)`(x)?` |
//! | save, load | `model.save(path)`, `keras.models.load_model` | [`Runner::save`](crate::Runner::save), [`Runner::load`](crate::Runner::load) |
//! | weights only | `save_weights`, `load_weights` | [`Runner::save_weights`](crate::Runner::save_weights), [`Runner::load_weights`](crate::Runner::load_weights) |
//! | training curves | `history.history["loss"]` | [`History::get`](crate::History::get)`("loss")`, [`History::plot_svg`](crate::History::plot_svg), [`History::plot_png`](crate::History::plot_png) |
//! | callbacks | `EarlyStopping`, `ModelCheckpoint`, `CSVLogger`, `ReduceLROnPlateau`, `LearningRateScheduler`, `TerminateOnNaN`, `LambdaCallback` | [`EarlyStopping`](crate::callbacks::EarlyStopping), [`ModelCheckpoint`](crate::callbacks::ModelCheckpoint), [`CsvLogger`](crate::callbacks::CsvLogger), [`ReduceLrOnPlateau`](crate::callbacks::ReduceLrOnPlateau), [`LearningRateScheduler`](crate::callbacks::LearningRateScheduler), [`TerminateOnNaN`](crate::callbacks::TerminateOnNaN), [`LambdaCallback`](crate::callbacks::LambdaCallback) |
//! | optimizers | `SGD`, `Adam`, `AdamW`, `RMSprop`, `Adagrad` | [`Sgd`](crate::optimizers::Sgd), [`Adam`](crate::optimizers::Adam), [`AdamW`](crate::optimizers::AdamW), [`RmsProp`](crate::optimizers::RmsProp), [`Adagrad`](crate::optimizers::Adagrad) |
//! | a loss on logits | `SparseCategoricalCrossentropy(from_logits=True)` | [`SparseCategoricalCrossentropy::from_logits`](crate::losses::SparseCategoricalCrossentropy::from_logits)`()` |
//! | split, scale | `train_test_split`, `StandardScaler` (scikit-learn) | [`datasets::train_test_split`](crate::datasets::train_test_split), [`datasets::Standardizer`](crate::datasets::Standardizer) |
