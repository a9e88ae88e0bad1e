//! Writing files so that a reader, a crash or a full disk never sees half of one: every file
//! kiln writes whole goes to a temporary file beside it, is fsynced, then renamed over the
//! old one, and the folder is fsynced so the rename itself survives a crash.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Replace `path` with `data`, whole or not at all. A symbolic link is written through (its
/// target is replaced); an existing file keeps its permissions, a new one gets 0644 less the
/// umask.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |file| file.write_all(data))
}

/// [`write_atomic`] with the content written by `fill` (a copy streamed from elsewhere, say):
/// when `fill` fails, the old file stays as it was and the temporary file is removed.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let target = through_links(path)?;
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = std::fs::metadata(&target)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    let temp = folder.join(format!(
        ".{name}.kiln-{}-{}",
        std::process::id(),
        ulid::Ulid::generate().to_string().to_lowercase()
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)?;
        if let Some(mode) = mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        fill(&mut file)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)?;
        File::open(&folder)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// `path` with every symbolic link of its last component followed, so a rename replaces the
/// file a link points at, never the link.
fn through_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&at)?;
                at = match at.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(at),
        }
    }
    Err(std::io::Error::other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// An exclusive advisory lock on `folder`, held until dropped: processes that update one file
/// in it (read, change, write whole) take turns. The folder is locked rather than the file,
/// since the write replaces the file's inode.
pub struct FolderLock(File);

impl FolderLock {
    pub fn acquire(folder: &Path) -> std::io::Result<FolderLock> {
        use std::os::fd::AsRawFd;
        let dir = File::open(folder)?;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            let rc = unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(FolderLock(dir));
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; closing the descriptor would release it too.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_keeps_the_mode_and_writes_through_a_link() {
        let dir = tempfile::tempdir().expect("a folder");
        let file = dir.path().join("t.pkr.hcl");
        std::fs::write(&file, "old").expect("writes");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let link = dir.path().join("link.pkr.hcl");
        std::os::unix::fs::symlink("t.pkr.hcl", &link).expect("a link");
        write_atomic(&link, b"new").expect("writes");
        assert_eq!(std::fs::read_to_string(&file).expect("reads"), "new");
        assert!(std::fs::symlink_metadata(&link)
            .expect("the link")
            .file_type()
            .is_symlink());
        let mode = std::fs::metadata(&file).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().expect("a folder");
        let missing = dir.path().join("no-such-folder/t.json");
        assert!(write_atomic(&missing, b"x").is_err());
        let looped = dir.path().join("loop");
        std::os::unix::fs::symlink("loop", &looped).expect("a link");
        let err = write_atomic(&looped, b"x").expect_err("a loop");
        assert!(err.to_string().contains("symbolic links"), "{err}");
    }
}
