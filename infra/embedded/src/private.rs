//! Files only their owner may read. The data folder holds the store (with sealed secrets,
//! but also partners' emails and payout details), the secrets key and the outbox, whose
//! welcome emails carry partners' API keys: folders are 0700 and files 0600, whatever
//! the process's umask, and folders made before this rule are tightened when opened.

use std::io;
use std::path::Path;

/// Creates `dir` (and its parents) if needed and makes it owner-only.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Makes an existing file owner-only.
pub fn private_file(path: &Path) -> io::Result<()> {
    restrict(path, 0o600)
}

/// Writes `bytes` to a new or replaced file that is owner-only from its first byte.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    private_open_file(&file)
}

/// Makes a file this process has open owner-only (through the handle: no second lookup of
/// its path), whatever the umask took from the mode it was created with.
pub fn private_open_file(file: &std::fs::File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
