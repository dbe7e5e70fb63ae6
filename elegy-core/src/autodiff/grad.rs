//! The backward walk: from a scalar loss to the gradients of named parameters.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ndarray::ArrayD;

use super::Node;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorMap};

/// Gradients of the scalar `loss` with respect to each tensor of `params`, keyed the same way.
///
/// Every tensor of `params` must be tracked (see [`Tensor::tracked`] and [`TensorMap::tracked`]);
/// one the loss does not depend on gets a zero gradient. Gradients of a tensor used several times
/// are summed.
///
/// ```
/// use elegy_core::{grad, Tensor, TensorMap};
/// let params = TensorMap::new().with("w", Tensor::from(vec![1.0, 2.0]).tracked());
/// let w = params.require("w")?;
/// let loss = (w * w)?.sum_all(); // sum of squares
/// let grads = grad(&loss, &params)?;
/// assert_eq!(grads.require("w")?.to_vec(), vec![2.0, 4.0]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn grad(loss: &Tensor, params: &TensorMap) -> Result<TensorMap> {
    if loss.len() != 1 {
        return Err(Error::shape(
            "grad",
            format!(
                "the loss must be a scalar, got shape {:?}; reduce it with .sum_all() or .mean_all()",
                loss.shape()
            ),
        ));
    }
    let mut wanted = HashSet::new();
    for (name, param) in params.iter() {
        match param.node() {
            Some(node) => wanted.insert(node.id),
            None => {
                return Err(Error::invalid(
                    "grad",
                    format!(
                        "parameter `{name}` is not tracked; create it with Tensor::param or \
                         call .tracked() (TensorMap::tracked for a whole map) before computing the loss"
                    ),
                ));
            }
        };
    }
    let mut found = match loss.node() {
        Some(root) => backward(root, loss.shape(), &wanted)?,
        None => HashMap::new(),
    };
    Ok(params.map(|_, param| {
        let id = param.node().expect("checked tracked").id;
        match found.remove(&id) {
            Some(g) => Tensor::new(g),
            None => param.zeros_like(),
        }
    }))
}

/// The loss `f` computes from `params` and its gradients with respect to them.
///
/// `f` receives tracked copies of `params` (sharing their values), so the caller's map is not
/// tracked afterwards.
pub fn value_and_grad(
    params: &TensorMap,
    f: impl FnOnce(&TensorMap) -> Result<Tensor>,
) -> Result<(Tensor, TensorMap)> {
    let tracked = params.tracked();
    let loss = f(&tracked)?;
    let grads = grad(&loss, &tracked)?;
    Ok((loss.detach(), grads))
}

/// Walks the graph below `root` (whose value has `root_shape`) in reverse creation order and
/// returns the gradients of the nodes in `wanted`.
fn backward(
    root: &Arc<Node>,
    root_shape: &[usize],
    wanted: &HashSet<u64>,
) -> Result<HashMap<u64, ArrayD<f32>>> {
    let mut order = reachable(root);
    order.sort_unstable_by_key(|node| std::cmp::Reverse(node.id));

    let mut pending: HashMap<u64, ArrayD<f32>> = HashMap::new();
    pending.insert(root.id, ArrayD::ones(root_shape));
    let mut found = HashMap::new();
    for node in order {
        // A node no gradient reached (only through untracked paths) has nothing to pass on.
        let Some(g) = pending.remove(&node.id) else {
            continue;
        };
        if node.inputs.is_empty() {
            if wanted.contains(&node.id) {
                found.insert(node.id, g);
            }
            continue;
        }
        let input_grads = node.rule.backward(&g, &node.inputs)?;
        if wanted.contains(&node.id) {
            found.insert(node.id, g);
        }
        debug_assert_eq!(input_grads.len(), node.inputs.len(), "{}", node.rule.name());
        for (input, input_grad) in node.inputs.iter().zip(input_grads) {
            let (Some(input_node), Some(input_grad)) = (input.node(), input_grad) else {
                continue;
            };
            debug_assert_eq!(
                input_grad.shape(),
                input.shape(),
                "backward of {} returned a gradient of the wrong shape",
                node.rule.name()
            );
            match pending.entry(input_node.id) {
                std::collections::hash_map::Entry::Occupied(mut sum) => {
                    *sum.get_mut() += &input_grad
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(input_grad);
                }
            }
        }
    }
    Ok(found)
}

/// Every node the root depends on, itself included.
fn reachable(root: &Arc<Node>) -> Vec<Arc<Node>> {
    let mut seen = HashSet::from([root.id]);
    let mut stack = vec![root.clone()];
    let mut all = Vec::new();
    while let Some(node) = stack.pop() {
        for input in &node.inputs {
            if let Some(child) = input.node()
                && seen.insert(child.id)
            {
                stack.push(child.clone());
            }
        }
        all.push(node);
    }
    all
}
