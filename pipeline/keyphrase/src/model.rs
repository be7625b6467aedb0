//! The trained ranker: standardized features -> logistic regression (`linfa-logistic`, L2),
//! with the collection statistics it was trained with. Saved as one JSON file.

use crate::features::{CollectionStats, FEATURES};
use crate::KeyphraseError;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray_linfa::{Array1, Array2};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format version written into model files.
pub const MODEL_VERSION: u32 = 1;

/// Training settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainOptions {
    /// L2 weight of the logistic regression.
    pub alpha: f64,
    /// Optimizer iterations (L-BFGS).
    pub max_iterations: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            alpha: 1.0,
            max_iterations: 200,
        }
    }
}

/// A fitted ranker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ranker {
    /// [`MODEL_VERSION`].
    pub version: u32,
    /// Feature names (must equal [`FEATURES`] when loaded).
    pub features: Vec<String>,
    /// Per-feature mean used for standardization.
    pub mean: Vec<f64>,
    /// Per-feature standard deviation (1 where a feature was constant).
    pub std: Vec<f64>,
    /// Weights on standardized features; a higher score means more likely a key phrase.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Collection statistics of the training documents.
    pub stats: CollectionStats,
    /// Extraction settings the model was trained with.
    pub options: crate::ExtractOptions,
    /// Training settings.
    pub train: TrainOptions,
}

impl Ranker {
    /// Fits on rows of [`FEATURES`] values and labels (true = gold key phrase).
    pub fn fit(
        rows: &[Vec<f64>],
        labels: &[bool],
        stats: CollectionStats,
        options: crate::ExtractOptions,
        train: TrainOptions,
    ) -> Result<Ranker, KeyphraseError> {
        let d = FEATURES.len();
        if rows.is_empty() || !labels.iter().any(|&l| l) || labels.iter().all(|&l| l) {
            return Err(KeyphraseError::Training(
                "training needs candidates of both classes (gold phrases found and not found in the texts)".into(),
            ));
        }
        let n = rows.len() as f64;
        let mut mean = vec![0.0; d];
        let mut std = vec![0.0; d];
        for r in rows {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n;
            }
        }
        for r in rows {
            for ((s, v), m) in std.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        for s in &mut std {
            *s = if *s > 1e-12 { s.sqrt() } else { 1.0 };
        }
        let x = Array2::from_shape_fn((rows.len(), d), |(i, j)| (rows[i][j] - mean[j]) / std[j]);
        let y = Array1::from_vec(labels.to_vec());
        let model = LogisticRegression::default()
            .alpha(train.alpha)
            .max_iterations(train.max_iterations)
            .fit(&Dataset::new(x, y))
            .map_err(|e| KeyphraseError::Training(e.to_string()))?;
        // linfa scores the more frequent class as "positive": orient toward key phrases
        let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
        Ok(Ranker {
            version: MODEL_VERSION,
            features: FEATURES.iter().map(|s| s.to_string()).collect(),
            mean,
            std,
            weights: model.params().iter().map(|w| sign * w).collect(),
            intercept: sign * model.intercept(),
            stats,
            options,
            train,
        })
    }

    /// Score of one feature row (higher = more likely a key phrase).
    pub fn score(&self, row: &[f64]) -> f64 {
        self.intercept
            + row
                .iter()
                .zip(&self.mean)
                .zip(&self.std)
                .zip(&self.weights)
                .map(|(((v, m), s), w)| (v - m) / s * w)
                .sum::<f64>()
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), KeyphraseError> {
        let json = serde_json::to_vec(self)
            .map_err(|e| KeyphraseError::Model(path.display().to_string(), e.to_string()))?;
        std::fs::write(path, json)
            .map_err(|e| KeyphraseError::Model(path.display().to_string(), e.to_string()))
    }

    /// Reads a model written by [`Ranker::save`], checking its version and feature list.
    pub fn load(path: &Path) -> Result<Ranker, KeyphraseError> {
        let label = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| {
            KeyphraseError::Model(
                label.clone(),
                format!("{e}; train one with `quarry keyphrases train --docs DIR --keys DIR --out FILE`"),
            )
        })?;
        let r: Ranker = serde_json::from_slice(&bytes)
            .map_err(|e| KeyphraseError::Model(label.clone(), e.to_string()))?;
        if r.version != MODEL_VERSION {
            return Err(KeyphraseError::Model(
                label,
                format!(
                    "model version {} (this build reads {MODEL_VERSION})",
                    r.version
                ),
            ));
        }
        if r.features != FEATURES
            || r.weights.len() != FEATURES.len()
            || r.mean.len() != FEATURES.len()
            || r.std.len() != FEATURES.len()
        {
            return Err(KeyphraseError::Model(
                label,
                "feature list differs from this build's; retrain".into(),
            ));
        }
        Ok(r)
    }

    /// (feature, weight) pairs, largest absolute weight first.
    pub fn weights_by_size(&self) -> Vec<(&str, f64)> {
        let mut v: Vec<(&str, f64)> = self
            .features
            .iter()
            .map(String::as_str)
            .zip(self.weights.iter().copied())
            .collect();
        v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        v
    }
}
