//! The trained ranker, with the collection statistics it was trained with, saved as one JSON
//! file. Two learners: gradient-boosted trees (`forust-ml`, XGBoost's algorithm, log loss; the
//! default) and logistic regression (`linfa-logistic`, L2, on standardized features).

use crate::features::{CollectionStats, FEATURES};
use crate::KeyphraseError;
use forust_ml::gradientbooster::ImportanceMethod;
use forust_ml::{GradientBooster, Matrix};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray_linfa::{Array1, Array2};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format version written into model files.
pub const MODEL_VERSION: u32 = 2;

/// Which learner ranks the candidates.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    /// Gradient-boosted trees (log loss).
    Gbdt,
    /// L2-regularized logistic regression.
    Logistic,
}

impl std::str::FromStr for Learner {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gbdt" => Ok(Learner::Gbdt),
            "logistic" | "lr" => Ok(Learner::Logistic),
            other => Err(format!("unknown learner {other:?} (gbdt, logistic)")),
        }
    }
}

/// Training settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainOptions {
    /// The learner.
    pub learner: Learner,
    /// L2 weight of the logistic regression.
    pub alpha: f64,
    /// Optimizer iterations (L-BFGS) of the logistic regression.
    pub max_iterations: u64,
    /// Boosting rounds.
    pub trees: usize,
    /// Tree depth.
    pub max_depth: usize,
    /// Shrinkage.
    pub learning_rate: f32,
    /// Seed of the boosting.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            learner: Learner::Gbdt,
            alpha: 1.0,
            max_iterations: 200,
            trees: 200,
            max_depth: 3,
            learning_rate: 0.05,
            seed: 13,
        }
    }
}

/// The fitted scoring function.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scorer {
    /// Logistic regression on standardized features.
    Logistic {
        /// Per-feature mean used for standardization.
        mean: Vec<f64>,
        /// Per-feature standard deviation (1 where a feature was constant).
        std: Vec<f64>,
        /// Weights on standardized features; higher = more likely a key phrase.
        weights: Vec<f64>,
        /// Intercept.
        intercept: f64,
    },
    /// Gradient-boosted trees on raw features (log-odds output).
    Gbdt {
        /// The booster.
        booster: Box<GradientBooster>,
    },
}

/// A fitted ranker.
#[derive(Serialize, Deserialize)]
pub struct Ranker {
    /// [`MODEL_VERSION`].
    pub version: u32,
    /// Feature names (must equal [`FEATURES`] when loaded).
    pub features: Vec<String>,
    /// The scoring function.
    pub scorer: Scorer,
    /// Collection statistics of the training documents.
    pub stats: CollectionStats,
    /// Extraction settings the model was trained with.
    pub options: crate::ExtractOptions,
    /// Training settings.
    pub train: TrainOptions,
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("learner", &self.train.learner)
            .field("features", &self.features.len())
            .field("docs", &self.stats.docs)
            .field("options", &self.options)
            .finish()
    }
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
        if rows.is_empty() || !labels.iter().any(|&l| l) || labels.iter().all(|&l| l) {
            return Err(KeyphraseError::Training(
                "training needs candidates of both classes (gold phrases found and not found in the texts)".into(),
            ));
        }
        let scorer = match train.learner {
            Learner::Logistic => fit_logistic(rows, labels, &train)?,
            Learner::Gbdt => fit_gbdt(rows, labels, &train)?,
        };
        Ok(Ranker {
            version: MODEL_VERSION,
            features: FEATURES.iter().map(|s| s.to_string()).collect(),
            scorer,
            stats,
            options,
            train,
        })
    }

    /// Scores of feature rows (higher = more likely a key phrase).
    pub fn score_rows(&self, rows: &[Vec<f64>]) -> Vec<f64> {
        match &self.scorer {
            Scorer::Logistic {
                mean,
                std,
                weights,
                intercept,
            } => rows
                .iter()
                .map(|row| {
                    intercept
                        + row
                            .iter()
                            .zip(mean)
                            .zip(std)
                            .zip(weights)
                            .map(|(((v, m), s), w)| (v - m) / s * w)
                            .sum::<f64>()
                })
                .collect(),
            Scorer::Gbdt { booster } => {
                if rows.is_empty() {
                    return Vec::new();
                }
                let cols = column_major(rows);
                booster.predict(&Matrix::new(&cols, rows.len(), FEATURES.len()), false)
            }
        }
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), KeyphraseError> {
        let label = || path.display().to_string();
        let json =
            serde_json::to_vec(self).map_err(|e| KeyphraseError::Model(label(), e.to_string()))?;
        std::fs::write(path, json).map_err(|e| KeyphraseError::Model(label(), e.to_string()))
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
                    "model version {} (this build reads {MODEL_VERSION}); retrain",
                    r.version
                ),
            ));
        }
        let shapes_ok = match &r.scorer {
            Scorer::Logistic {
                mean, std, weights, ..
            } => [mean.len(), std.len(), weights.len()]
                .iter()
                .all(|&n| n == FEATURES.len()),
            Scorer::Gbdt { .. } => true,
        };
        if r.features != FEATURES || !shapes_ok {
            return Err(KeyphraseError::Model(
                label,
                "feature list differs from this build's; retrain".into(),
            ));
        }
        Ok(r)
    }

    /// (feature, importance) pairs, largest first: signed weights of the logistic regression
    /// (on standardized features), normalized total gain of the trees.
    pub fn importance(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = match &self.scorer {
            Scorer::Logistic { weights, .. } => self
                .features
                .iter()
                .cloned()
                .zip(weights.iter().copied())
                .collect(),
            Scorer::Gbdt { booster } => {
                let imp = booster.calculate_feature_importance(ImportanceMethod::TotalGain, true);
                self.features
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.clone(), imp.get(&i).copied().unwrap_or(0.0) as f64))
                    .collect()
            }
        };
        v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        v
    }
}

/// Rows -> one column-major buffer (the layout `forust-ml` reads).
fn column_major(rows: &[Vec<f64>]) -> Vec<f64> {
    let d = FEATURES.len();
    let mut cols = vec![0.0; rows.len() * d];
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in r.iter().enumerate().take(d) {
            cols[j * rows.len() + i] = *v;
        }
    }
    cols
}

fn fit_gbdt(
    rows: &[Vec<f64>],
    labels: &[bool],
    train: &TrainOptions,
) -> Result<Scorer, KeyphraseError> {
    let cols = column_major(rows);
    let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
    let mut booster = GradientBooster::default()
        .set_iterations(train.trees)
        .set_learning_rate(train.learning_rate)
        .set_max_depth(train.max_depth)
        .set_seed(train.seed)
        .set_parallel(false);
    booster
        .fit_unweighted(&Matrix::new(&cols, rows.len(), FEATURES.len()), &y, None)
        .map_err(|e| KeyphraseError::Training(e.to_string()))?;
    Ok(Scorer::Gbdt {
        booster: Box::new(booster),
    })
}

fn fit_logistic(
    rows: &[Vec<f64>],
    labels: &[bool],
    train: &TrainOptions,
) -> Result<Scorer, KeyphraseError> {
    let d = FEATURES.len();
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
    Ok(Scorer::Logistic {
        mean,
        std,
        weights: model.params().iter().map(|w| sign * w).collect(),
        intercept: sign * model.intercept(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A separable toy problem: both learners must rank positives above negatives, and a
    /// saved model must score the same after loading.
    #[test]
    fn both_learners_fit_save_and_load() {
        let d = FEATURES.len();
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            let pos = i % 3 == 0;
            let mut r = vec![0.0; d];
            r[0] = if pos { 2.0 } else { 0.5 } + (i % 7) as f64 * 0.05;
            r[1] = (i % 5) as f64; // noise
            rows.push(r);
            labels.push(pos);
        }
        for learner in [Learner::Gbdt, Learner::Logistic] {
            let train = TrainOptions {
                learner,
                trees: 20,
                ..TrainOptions::default()
            };
            let m = Ranker::fit(
                &rows,
                &labels,
                CollectionStats::default(),
                crate::ExtractOptions::default(),
                train,
            )
            .unwrap();
            let s = m.score_rows(&rows);
            let min_pos = s
                .iter()
                .zip(&labels)
                .filter(|(_, &l)| l)
                .map(|(s, _)| *s)
                .fold(f64::INFINITY, f64::min);
            let max_neg = s
                .iter()
                .zip(&labels)
                .filter(|(_, &l)| !l)
                .map(|(s, _)| *s)
                .fold(f64::NEG_INFINITY, f64::max);
            assert!(min_pos > max_neg, "{learner:?}: {min_pos} <= {max_neg}");
            assert_eq!(m.importance()[0].0, FEATURES[0], "{learner:?}");
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("m.json");
            m.save(&p).unwrap();
            let back = Ranker::load(&p).unwrap();
            assert_eq!(back.score_rows(&rows), s);
        }
        let err = Ranker::fit(
            &rows,
            &vec![false; rows.len()],
            CollectionStats::default(),
            crate::ExtractOptions::default(),
            TrainOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("both classes"));
        let missing = Ranker::load(Path::new("/nonexistent/kp.json"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("quarry keyphrases train"), "{missing}");
    }
}
