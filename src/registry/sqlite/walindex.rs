//! Whether anything was committed to the database, answered without a connection or a lock.
//!
//! In WAL mode every commit, from any process, rewrites the header of the WAL index (the `-shm`
//! file every connection maps): its change counter, last frame and salts. The header is written
//! twice in a row (second copy first), so a reader that finds both copies equal has a whole one
//! (<https://sqlite.org/walformat.html#walidxfmt>, the check SQLite's own readers make). Reading
//! it from a shared mapping costs nanoseconds; `PRAGMA data_version` costs a read transaction,
//! two `fcntl` locks and the connection's mutex, once per request in a server.

use rusqlite::{ffi, Connection};
use std::sync::atomic::{fence, Ordering};

/// Words in one copy of the header (48 bytes).
const WORDS: usize = 12;
/// The size of one region of the WAL index, as SQLite maps it.
const REGION: i32 = 32_768;

/// The header as last committed: equal stamps, no commit in between.
pub(super) type Generation = [u32; WORDS];

/// A generation for a database without a WAL index (in memory): its `data_version`.
pub(super) fn from_data_version(version: i64) -> Generation {
    let mut g = [0; WORDS];
    g[0] = version as u32;
    g[1] = (version >> 32) as u32;
    g
}

/// SQLite's own mapping of the first region of a connection's WAL index.
///
/// It is SQLite's mapping, asked for through the VFS (`xShmMap`), not one of ours: opening the
/// `-shm` file a second time and closing it would drop the process's POSIX locks on it, and with
/// them the lock that keeps other processes from truncating the file. The mapping lives as long
/// as the connection's WAL index, so a `WalIndex` must not outlive its connection.
pub(super) struct WalIndex {
    words: *const u32,
}

// Only read, with volatile reads, while the connection that owns the mapping is open.
unsafe impl Send for WalIndex {}
unsafe impl Sync for WalIndex {}

impl WalIndex {
    /// The WAL index of `conn`, a connection in WAL mode that has read the database. `None`
    /// when it has none (in memory, not in WAL mode): callers fall back to the connection.
    pub(super) fn of(conn: &Connection) -> Option<WalIndex> {
        // SAFETY: the file pointer SQLite hands out stays valid while the connection is open;
        // xShmMap of a region already mapped returns the mapping without changing it.
        unsafe {
            let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
            let rc = ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast(),
            );
            if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
                return None;
            }
            let methods = &*(*file).pMethods;
            if methods.iVersion < 2 {
                return None;
            }
            let mut region: *mut std::ffi::c_void = std::ptr::null_mut();
            let rc = (methods.xShmMap?)(file, 0, REGION, 0, &mut region);
            if rc != ffi::SQLITE_OK || region.is_null() {
                return None;
            }
            Some(WalIndex {
                words: region as *const u32,
            })
        }
    }

    /// The committed generation, or `None` while a writer is between the two copies.
    pub(super) fn generation(&self) -> Option<Generation> {
        for _ in 0..64 {
            let first = self.copy(0);
            fence(Ordering::Acquire);
            let second = self.copy(WORDS);
            if first == second {
                return Some(first);
            }
            std::hint::spin_loop();
        }
        None
    }

    fn copy(&self, at: usize) -> Generation {
        let mut out = [0; WORDS];
        for (i, w) in out.iter_mut().enumerate() {
            // SAFETY: both copies lie at the start of the region, word-aligned.
            *w = unsafe { std::ptr::read_volatile(self.words.add(at + i)) };
        }
        out
    }
}
