//! Writing a file whole or not at all: every command that writes a file (`fmt` in place,
//! `--output`) goes through [`write`], so a full disk, a file-size limit or a kill mid-write
//! leaves the old file (or no file) rather than a truncated one.
//!
//! The bytes go to a temporary file in the target's folder (so the final rename stays on one
//! file system), which is synced and then renamed over the target. `tempfile` makes that file:
//! an unpredictable name created exclusively, removed again on every error path, and a rename
//! that refuses an existing target atomically (`renameat2` with `RENAME_NOREPLACE`, or a hard
//! link where that is missing).

use std::fs::{self, File, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Once};

/// What to do when the target already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Replace it, keeping its permissions.
    Replace,
    /// Leave it and fail with [`io::ErrorKind::AlreadyExists`].
    Refuse,
}

/// Why a write failed, for messages that say which step did.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The file could not be made: its folder, its name, or an existing file refused.
    Create(io::Error),
    /// The content could not be written (a full disk, a file-size limit).
    Write(io::Error),
}

impl From<WriteError> for io::Error {
    /// The operating system's error, whichever step failed.
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Create(error) | WriteError::Write(error) => error,
        }
    }
}

/// Writes `bytes` to `path` atomically: afterwards `path` holds either all of `bytes` or what
/// it held before. A replaced file keeps its permissions; a new one gets those a plain create
/// gives (read and write for all, less the umask). Through a symbolic link, the file it points
/// to is replaced.
pub(crate) fn write(path: &Path, bytes: &[u8], existing: Existing) -> Result<(), WriteError> {
    report_file_size_limit_as_error();
    let resolved = match existing {
        Existing::Replace => fs::canonicalize(path).ok(),
        Existing::Refuse => None,
    };
    let target = resolved.as_deref().unwrap_or(path);
    let folder = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let replaced = match existing {
        Existing::Replace => fs::metadata(target).ok(),
        Existing::Refuse => None,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".factotum-").suffix(".tmp");
    // A file being replaced keeps its permissions, set before a byte is written; until then
    // the temporary file is private to us (tempfile's default), so nobody can open it early.
    if replaced.is_none() {
        builder.permissions(Permissions::from_mode(0o666));
    }
    // A missing folder is reported as the system says it, without the temporary name that
    // `tempfile` would add to the error (it means nothing to whoever asked for `path`).
    fs::metadata(folder).map_err(WriteError::Create)?;
    let mut temporary = builder.tempfile_in(folder).map_err(WriteError::Create)?;
    if let Some(metadata) = &replaced {
        temporary
            .as_file()
            .set_permissions(metadata.permissions())
            .map_err(WriteError::Create)?;
    }
    // Through the plain file: `tempfile`'s own writer adds the temporary name to its errors.
    temporary
        .as_file_mut()
        .write_all(bytes)
        .map_err(WriteError::Write)?;
    temporary.as_file().sync_all().map_err(WriteError::Write)?;
    let placed = match existing {
        Existing::Replace => temporary.persist(target),
        Existing::Refuse => temporary.persist_noclobber(target),
    };
    placed.map_err(|error| WriteError::Create(error.error))?;
    // The rename is only durable once the folder is synced too. The file is in place already,
    // so a folder that cannot be synced (some file systems refuse) is no failure.
    if let Ok(folder) = File::open(folder) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// A file-size limit (`ulimit -f`) kills a process writing past it with SIGXFSZ, which would
/// leave the temporary file (or a half-written store) behind and say nothing. With a handler installed, the write fails
/// with "File too large" instead and the usual error path runs. Handlers (unlike ignored
/// signals) are reset when `run` starts a task, so tasks keep the default.
pub(crate) fn report_file_size_limit_as_error() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // The flag it raises is not needed: the failing write says it all. Without the
        // handler, the limit still cannot truncate the target, only kill us.
        let raised = Arc::new(AtomicBool::new(false));
        let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, raised);
    });
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::{Existing, WriteError, write};

    /// The names in `dir`, sorted.
    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_whole_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.factotum");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new", Existing::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        assert_eq!(
            names(dir.path()),
            ["job.factotum"],
            "no temporary file left"
        );
    }

    #[test]
    fn refuses_an_existing_file_and_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.dot");
        std::fs::write(&path, "mine").unwrap();
        let error = write(&path, b"theirs", Existing::Refuse).unwrap_err();
        assert!(matches!(&error, WriteError::Create(_)), "{error:?}");
        assert_eq!(
            std::io::Error::from(error).kind(),
            std::io::ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        assert_eq!(names(dir.path()), ["out.dot"], "no temporary file left");
        write(&dir.path().join("new.dot"), b"x", Existing::Refuse).unwrap();
        assert_eq!(names(dir.path()), ["new.dot", "out.dot"]);
    }

    #[test]
    fn writes_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.factotum");
        let link = dir.path().join("link.factotum");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"new", Existing::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_missing_folder_is_the_plain_system_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = write(&dir.path().join("no/such.dot"), b"x", Existing::Refuse).unwrap_err();
        assert_eq!(
            std::io::Error::from(error).to_string(),
            "No such file or directory (os error 2)"
        );
    }
}
