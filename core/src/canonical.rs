//! Canonical path names as users write them.
//!
//! On Windows `std::fs::canonicalize` returns verbatim names (`\\?\C:\Samples\kick.wav`,
//! `\\?\UNC\server\share\kick.wav`): correct, but not what users typed, what DAWs show or what
//! older programs given a dragged path accept. [`canonicalize`] gives the plain name
//! (`C:\Samples\kick.wav`, `\\server\share\kick.wav`) whenever it names the same file, which is
//! what the `dunce` crate does: not for names of [`MAX_PATH`] characters or more, names with a
//! component Windows would read differently without the prefix (`.`, `..`, a trailing dot or
//! space, a device name such as `CON` or `aux.wav`, a forbidden character), nor for verbatim
//! forms other than a drive or a UNC share. Those keep the prefix, which they need.
//!
//! Elsewhere it is `std::fs::canonicalize`. The rule itself ([`plain_windows_name`]) is a pure
//! function of the text, so it is tested on every platform.

use std::io;
use std::path::{Path, PathBuf};

use crate::library::names;

/// Longest plain Windows path, characters including the terminating NUL: longer names only work
/// with the verbatim prefix.
pub const MAX_PATH: usize = 260;

/// `path` made absolute with every symlink resolved, as [`std::fs::canonicalize`], but without
/// Windows' verbatim prefix when the plain name means the same file (see the module docs).
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    let canonical = path.canonicalize()?;
    Ok(simplified(canonical))
}

/// `path` without a verbatim prefix that is safe to drop; unchanged off Windows.
#[cfg(windows)]
pub fn simplified(path: PathBuf) -> PathBuf {
    match path.to_str().and_then(plain_windows_name) {
        Some(plain) => PathBuf::from(plain),
        None => path,
    }
}

/// `path` without a verbatim prefix that is safe to drop; unchanged off Windows.
#[cfg(not(windows))]
pub fn simplified(path: PathBuf) -> PathBuf {
    path
}

/// The plain form of the verbatim Windows path `verbatim` (`\\?\C:\a` -> `C:\a`,
/// `\\?\UNC\srv\share\a` -> `\\srv\share\a`), or `None` when it has no verbatim prefix or the
/// plain form would not name the same file.
pub fn plain_windows_name(verbatim: &str) -> Option<String> {
    let rest = verbatim.strip_prefix(r"\\?\")?;
    let plain = if let Some(unc) = rest.strip_prefix(r"UNC\") {
        // Server and share must be there and non-empty.
        let mut parts = unc.splitn(3, '\\');
        let (server, share) = (parts.next()?, parts.next()?);
        if server.is_empty() || share.is_empty() {
            return None;
        }
        format!(r"\\{unc}")
    } else {
        let bytes = rest.as_bytes();
        let drive = bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\';
        if !drive {
            return None;
        }
        rest.to_string()
    };
    if plain.encode_utf16().count() >= MAX_PATH {
        return None;
    }
    // Components after the drive (`C:`) or the `\\server\share` head.
    let skip = if plain.starts_with(r"\\") { 4 } else { 1 };
    let components = plain.split('\\').skip(skip).filter(|c| !c.is_empty());
    for component in components {
        let invalid = component == "."
            || component == ".."
            || component.ends_with(['.', ' '])
            || component.chars().any(|c| c < ' ' || r#"<>:"/|?*"#.contains(c))
            || names::is_device_name(component);
        if invalid {
            return None;
        }
    }
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_and_unc_names_lose_the_verbatim_prefix() {
        assert_eq!(plain_windows_name(r"\\?\C:\Samples\kick 01.wav").as_deref(), Some(r"C:\Samples\kick 01.wav"));
        assert_eq!(plain_windows_name(r"\\?\Z:\").as_deref(), Some(r"Z:\"));
        assert_eq!(
            plain_windows_name(r"\\?\UNC\studio-nas\drums\808\kick.wav").as_deref(),
            Some(r"\\studio-nas\drums\808\kick.wav")
        );
        assert_eq!(
            plain_windows_name("\\\\?\\d:\\caf\u{e9}\\snare.flac").as_deref(),
            Some("d:\\caf\u{e9}\\snare.flac")
        );
    }

    #[test]
    fn names_that_need_the_prefix_keep_it() {
        let long = format!(r"\\?\C:\{}\kick.wav", "x".repeat(250));
        let keep = [
            // Not verbatim at all, or verbatim forms with no plain spelling.
            r"C:\Samples\kick.wav",
            r"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\kick.wav",
            r"\\?\GLOBALROOT\Device\HarddiskVolume2\kick.wav",
            r"\\?\UNC\server",
            r"\\?\UNC\\share\kick.wav",
            r"\\?\C:",
            long.as_str(),
            // Components Windows would rewrite or read as a device without the prefix.
            r"\\?\C:\Samples\trailing dot.\kick.wav",
            r"\\?\C:\Samples\kick.wav ",
            r"\\?\C:\Samples\..\kick.wav",
            r"\\?\C:\Samples\CON\kick.wav",
            r"\\?\C:\Samples\aux.wav",
            r"\\?\C:\Samples\nul.tar.wav",
            r"\\?\C:\Samples\COM1",
            r"\\?\C:\Samples\what?.wav",
            r"\\?\C:\Samples\a:b.wav",
        ];
        for path in keep {
            assert_eq!(plain_windows_name(path), None, "{path}");
        }
        let just_short = format!(r"\\?\C:\{}", "y".repeat(MAX_PATH - 4));
        assert_eq!(plain_windows_name(&just_short).map(|p| p.len()), Some(MAX_PATH - 1));
    }

    #[cfg(not(windows))]
    #[test]
    fn canonical_names_elsewhere_are_std_s() {
        let dir = std::env::temp_dir();
        assert_eq!(canonicalize(&dir).unwrap(), dir.canonicalize().unwrap());
        assert!(canonicalize(&dir.join("drumsort-surely-not-here")).is_err());
    }
}
