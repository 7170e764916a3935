//! `storage.path` checked before anything is created or opened: a writable directory that is
//! empty or a store.

use std::path::Path;

use super::{Invalid, bad};

/// Names sled keeps in its directory: a directory holding anything else is not a
/// Porchlight data directory (say `/etc`), and is refused rather than written into.
const STORE_FILES: &[&str] = &[
    "conf",
    "db",
    "blobs",
    "snap.",
    "lost+found",
    ".porchlight-check-",
];

/// Checks that `storage.path` can hold the store, without creating or opening anything: an
/// existing path must be a writable directory that is empty or a store; a missing one must
/// have a writable directory above it.
pub fn check_storage(path: &Path) -> Result<(), Invalid> {
    let key = "storage.path";
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(bad(key, format!("{shown} is a file, not a directory"))),
        Ok(m) => {
            if m.permissions().readonly() {
                return Err(bad(key, format!("{shown} is read-only")));
            }
            let entries = std::fs::read_dir(path)
                .map_err(|e| bad(key, format!("cannot read {shown}: {e}")))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !STORE_FILES.iter().any(|f| name.starts_with(f)) {
                    return Err(bad(
                        key,
                        format!(
                            "{shown} holds {name:?}, which is not Porchlight data; use an empty or a Porchlight directory"
                        ),
                    ));
                }
            }
            writable(path).map_err(|e| bad(key, format!("cannot write in {shown}: {e}")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The daemon creates it: the nearest existing ancestor must be a writable directory.
            let mut up = path.parent();
            while let Some(dir) = up {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                match std::fs::metadata(dir) {
                    Ok(m) if m.is_dir() => {
                        return writable(dir).map_err(|e| {
                            bad(
                                key,
                                format!("cannot create {shown} in {}: {e}", dir.display()),
                            )
                        });
                    }
                    Ok(_) => {
                        return Err(bad(
                            key,
                            format!("{} is a file, so {shown} cannot be created", dir.display()),
                        ));
                    }
                    Err(_) => up = dir.parent(),
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(bad(
            key,
            format!("a part of {shown} is a file, not a directory"),
        )),
        Err(e) => Err(bad(key, format!("cannot use {shown}: {e}"))),
    }
}

/// Whether a file can be created in `dir` (the permission bits don't tell for root, or on
/// a read-only mount).
fn writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".porchlight-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
