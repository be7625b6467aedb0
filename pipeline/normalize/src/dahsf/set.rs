//! Several domains' forests, reloadable from disk without a restart.

use super::engine::Engine;
use super::error::ForestError;
use super::forest::Forest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The forests of several domains, each in `<root>/<domain>/`. Readers get an
/// `Arc<Engine>` and keep using it while [`ForestSet::reload`] builds a new one and swaps it
/// in; a reload that fails leaves the old engine in place.
#[derive(Debug)]
pub struct ForestSet {
    root: PathBuf,
    engines: RwLock<BTreeMap<String, Arc<Engine>>>,
}

/// The `data/forests` directory of this source checkout (where the bundled domains live).
pub fn bundled_forest_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/forests")
}

fn check_domain(domain: &str) -> Result<(), ForestError> {
    let ok = !domain.is_empty()
        && domain != "."
        && domain != ".."
        && !domain.contains(['/', '\\'])
        && !domain.contains('\0');
    if ok {
        Ok(())
    } else {
        Err(ForestError::UnknownDomain(domain.to_string()))
    }
}

impl ForestSet {
    /// An empty set over `root` (load domains with [`ForestSet::reload`]).
    pub fn empty(root: impl Into<PathBuf>) -> ForestSet {
        ForestSet {
            root: root.into(),
            engines: RwLock::new(BTreeMap::new()),
        }
    }

    /// Loads every subdirectory of `root` that holds a `*.toml` file; the first error stops.
    pub fn open(root: impl Into<PathBuf>) -> Result<ForestSet, ForestError> {
        let set = ForestSet::empty(root);
        let io = |source| ForestError::Io {
            path: set.root.clone(),
            source,
        };
        let mut domains = Vec::new();
        for entry in std::fs::read_dir(&set.root).map_err(io)? {
            let p = entry.map_err(io)?.path();
            let has_toml = p.is_dir()
                && std::fs::read_dir(&p).is_ok_and(|mut it| {
                    it.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml")))
                });
            if let (true, Some(name)) = (has_toml, p.file_name().and_then(|n| n.to_str())) {
                domains.push(name.to_string());
            }
        }
        domains.sort();
        for d in domains {
            set.reload(&d)?;
        }
        Ok(set)
    }

    /// Loads the named domains of `root`.
    pub fn open_domains(
        root: impl Into<PathBuf>,
        domains: &[&str],
    ) -> Result<ForestSet, ForestError> {
        let set = ForestSet::empty(root);
        for d in domains {
            set.reload(d)?;
        }
        Ok(set)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The loaded domains, sorted.
    pub fn domains(&self) -> Vec<String> {
        let g = self.engines.read().unwrap_or_else(|e| e.into_inner());
        g.keys().cloned().collect()
    }

    /// The current engine of a domain.
    pub fn get(&self, domain: &str) -> Option<Arc<Engine>> {
        let g = self.engines.read().unwrap_or_else(|e| e.into_inner());
        g.get(domain).cloned()
    }

    /// (Re)loads a domain from `<root>/<domain>/` and swaps it in atomically. On error the
    /// previous engine (if any) stays and the error is returned.
    pub fn reload(&self, domain: &str) -> Result<Arc<Engine>, ForestError> {
        check_domain(domain)?;
        let forest = Forest::load_dir(self.root.join(domain))?;
        let engine = Arc::new(Engine::new(forest));
        let mut g = self.engines.write().unwrap_or_else(|e| e.into_inner());
        g.insert(domain.to_string(), engine.clone());
        Ok(engine)
    }

    /// Puts an engine under a domain name (for forests not loaded from disk).
    pub fn insert(&self, domain: &str, engine: Engine) -> Arc<Engine> {
        let engine = Arc::new(engine);
        let mut g = self.engines.write().unwrap_or_else(|e| e.into_inner());
        g.insert(domain.to_string(), engine.clone());
        engine
    }
}
