//! Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019): one definition
//! (`adam_optimizer!`), differing only in where the weight decay enters and its default.

use super::fused::{AdamRule, Decay};
use super::{
    Common, GradientTransform, Schedule, chain, decay_rate, non_negative, scale_by_adam,
    scale_by_learning_rate,
};
use crate::error::Result;

/// Where an Adam variant's weight decay enters the update.
#[derive(Clone, Copy, PartialEq)]
enum DecayAt {
    /// Added to the gradient before the moments: an L2 penalty (PyTorch's Adam).
    Gradient,
    /// Added to the update after the moments, scaled by the rate (AdamW, Keras 3).
    Update,
}

/// An Adam optimizer type named `$name`, with its docs, its weight decay placement and default.
macro_rules! adam_optimizer {
    (
        $(#[$doc:meta])*
        $name:ident,
        decay: $decay_at:expr,
        weight_decay: $default_decay:literal,
        weight_decay_doc: $wd_doc:literal,
        default_doc: $default_doc:literal
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// Step size, constant or scheduled.
            pub learning_rate: Schedule,
            /// Decay of the first moment, in `[0, 1)`.
            pub beta_1: f32,
            /// Decay of the second moment, in `[0, 1)`.
            pub beta_2: f32,
            /// Added to the denominator for stability.
            pub epsilon: f32,
            #[doc = $wd_doc]
            pub weight_decay: f32,
            /// Clips each gradient element to `[-clip_value, clip_value]`.
            pub clip_value: Option<f32>,
            /// Scales the gradients so that their global L2 norm is at most this.
            pub clip_global_norm: Option<f32>,
        }

        impl $name {
            /// This optimizer with a constant step size `learning_rate` and Keras' other
            /// defaults.
            pub fn new(learning_rate: f32) -> $name {
                $name {
                    learning_rate: Schedule::Constant(learning_rate),
                    ..$name::default()
                }
            }

            /// Checks the hyperparameters: an error names the one out of range.
            pub fn validate(&self) -> Result<()> {
                let op = stringify!($name);
                self.learning_rate.validate()?;
                decay_rate(op, "beta_1", self.beta_1)?;
                decay_rate(op, "beta_2", self.beta_2)?;
                non_negative(op, "epsilon", self.epsilon)?;
                self.common().validate(op)
            }

            fn common(&self) -> Common {
                Common {
                    clip_value: self.clip_value,
                    clip_global_norm: self.clip_global_norm,
                    weight_decay: self.weight_decay,
                }
            }

            /// The chain as one rule, when it has no clipping (clipping needs every update
            /// first).
            fn one_pass(&self) -> Option<AdamRule> {
                let common = self.common();
                if common.clip_value.is_some() || common.clip_global_norm.is_some() {
                    return None;
                }
                let (decay, link) = match (common.weight_decay, $decay_at) {
                    (0.0, _) => (Decay::Off, 0),
                    (wd, DecayAt::Gradient) => (Decay::Coupled(wd), 1),
                    (wd, DecayAt::Update) => (Decay::Decoupled(wd), 0),
                };
                Some(AdamRule {
                    beta_1: self.beta_1,
                    beta_2: self.beta_2,
                    epsilon: self.epsilon,
                    decay,
                    link,
                })
            }

            fn transform(&self) -> Box<dyn GradientTransform> {
                let common = self.common();
                let mut links = common.clipping();
                if $decay_at == DecayAt::Gradient {
                    links.extend(common.decay());
                }
                links.push(scale_by_adam(self.beta_1, self.beta_2, self.epsilon));
                if $decay_at == DecayAt::Update {
                    // After the moments, before the rate: decoupled, and scaled by the rate as
                    // Keras does.
                    links.extend(common.decay());
                }
                links.push(scale_by_learning_rate());
                chain(links)
            }
        }

        impl Default for $name {
            #[doc = $default_doc]
            fn default() -> $name {
                $name {
                    learning_rate: Schedule::Constant(1e-3),
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-7,
                    weight_decay: $default_decay,
                    clip_value: None,
                    clip_global_norm: None,
                }
            }
        }

        chained_optimizer!($name, one_pass);
    };
}

adam_optimizer!(
    /// Adam (Kingma & Ba, 2015, Algorithm 1): `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
    /// `p -= lr * m_hat / (sqrt(v_hat) + epsilon)` with bias-corrected `m_hat`, `v_hat`. (Keras adds
    /// `epsilon` to `sqrt(v)` before the bias correction instead; the two differ only in how much
    /// `epsilon` weighs in the first steps.)
    ///
    /// `weight_decay` is an L2 penalty added to the gradient before the moments, as PyTorch's Adam;
    /// for decoupled weight decay (what Keras 3's `weight_decay` does) use [`AdamW`]. Clipping applies to the raw gradient, by value
    /// first, then by global norm.
    ///
    /// State: `"step"`, `"learning_rate"`, `"{i}/m/{param}"` and `"{i}/v/{param}"`, where `i` counts
    /// the clipping and weight decay links that are set (`"0/m/w"` with none).
    Adam,
    decay: DecayAt::Gradient,
    weight_decay: 0.0,
    weight_decay_doc: "L2 penalty coefficient added to the gradient; 0 for none.",
    default_doc: "Keras' defaults: lr 0.001, betas 0.9 and 0.999, epsilon 1e-7, no weight decay."
);

adam_optimizer!(
    /// Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as Keras' AdamW:
    /// `p -= lr * (m_hat / (sqrt(v_hat) + epsilon) + weight_decay * p)`. The decay does not pass
    /// through the moments, so unlike an L2 penalty it shrinks every weight at the same relative
    /// rate whatever its gradients' scale.
    ///
    /// State: `"step"`, `"learning_rate"`, `"{i}/m/{param}"` and `"{i}/v/{param}"`, where `i`
    /// counts the clipping links that are set (`"0/m/w"` with none).
    AdamW,
    decay: DecayAt::Update,
    weight_decay: 0.004,
    weight_decay_doc: "Decoupled weight decay coefficient: each step shrinks `p` by \
                       `lr * weight_decay * p` (the rate also scales the decay).",
    default_doc: "Keras' defaults: lr 0.001, weight decay 0.004, betas 0.9 and 0.999, epsilon 1e-7."
);
