//! A pool of ONNX sessions for concurrent callers.
//!
//! `ort::Session::run` takes `&mut self`, so one session serves one caller at a time. The pool
//! holds `n` sessions of the same model; [`SessionPool::get`] blocks until one is free and
//! returns it when the guard drops.

use ort::session::Session;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};

/// Sessions a pool needs so that `intra_threads`-thread sessions keep every core busy:
/// the machine's cores divided by `intra_threads`, at least one.
pub fn sessions_for_cores(intra_threads: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / intra_threads.max(1)).max(1)
}

/// A fixed set of sessions.
pub struct SessionPool {
    free: Mutex<Vec<Session>>,
    available: Condvar,
    size: usize,
}

impl SessionPool {
    /// A pool of the given sessions (at least one).
    pub fn new(sessions: Vec<Session>) -> Self {
        assert!(
            !sessions.is_empty(),
            "a session pool needs at least one session"
        );
        let size = sessions.len();
        SessionPool {
            free: Mutex::new(sessions),
            available: Condvar::new(),
            size,
        }
    }

    /// Number of sessions.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Borrows a session, waiting for one to be free.
    pub fn get(&self) -> PooledSession<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = free.pop() {
                return PooledSession {
                    pool: self,
                    session: Some(s),
                };
            }
            free = self.available.wait(free).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A borrowed session; returned to the pool on drop.
pub struct PooledSession<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl Deref for PooledSession<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session.as_ref().expect("present until drop")
    }
}

impl DerefMut for PooledSession<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("present until drop")
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let mut free = self.pool.free.lock().unwrap_or_else(|e| e.into_inner());
            free.push(s);
            self.pool.available.notify_one();
        }
    }
}
