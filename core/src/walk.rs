//! Finding audio files under the paths a user names: files as given, folders walked recursively,
//! symlinks followed with loop detection, and every unreadable entry reported rather than
//! skipped in silence.

use std::path::{Path, PathBuf};

use crate::decode::is_audio_extension;

/// One thing found while walking: an audio file to analyse, or an entry that could not be read.
#[derive(Debug)]
pub enum Found {
    Audio(PathBuf),
    /// A path that could not be walked (missing, permission denied, symlink loop), with why.
    Problem {
        path: PathBuf,
        message: String,
    },
}

/// Options for [`walk`].
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Also descend into folders and files whose name starts with a dot.
    pub include_hidden: bool,
}

fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().to_str().is_some_and(|s| s.starts_with('.'))
}

/// Walks `roots` in order. A root that is a file is yielded as-is when it exists (whatever its
/// extension: the user named it, the decoder will say if it is not audio); inside folders only
/// files with an audio extension are yielded, sorted by name for stable output.
pub fn walk(roots: &[PathBuf], opts: &WalkOptions) -> impl Iterator<Item = Found> {
    let roots = roots.to_vec();
    let include_hidden = opts.include_hidden;
    roots.into_iter().flat_map(move |root| -> Box<dyn Iterator<Item = Found>> {
        match std::fs::metadata(&root) {
            Err(e) => Box::new(std::iter::once(Found::Problem { message: e.to_string(), path: root })),
            Ok(m) if !m.is_dir() => Box::new(std::iter::once(Found::Audio(root))),
            Ok(_) => Box::new(
                walkdir::WalkDir::new(&root)
                    .follow_links(true)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(move |e| include_hidden || !is_hidden(e))
                    .filter_map(|entry| match entry {
                        Ok(e) if e.file_type().is_file() && is_audio_extension(e.path()) => {
                            Some(Found::Audio(e.into_path()))
                        }
                        Ok(_) => None,
                        Err(err) => {
                            let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                            let message = match err.loop_ancestor() {
                                Some(a) => format!("symlink loop back to {}", a.display()),
                                None => err.io_error().map_or_else(|| err.to_string(), |e| e.to_string()),
                            };
                            Some(Found::Problem { path, message })
                        }
                    }),
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_recursively_reports_loops_and_skips_hidden() {
        let dir = std::env::temp_dir().join(format!("drumsort-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::create_dir_all(dir.join(".hidden")).unwrap();
        for f in ["a/kick.WAV", "a/b/snare.flac", "a/readme.txt", ".hidden/x.wav"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(&dir, dir.join("a/b/loop")).unwrap();
        let found: Vec<Found> = walk(&[dir.clone(), dir.join("missing.wav")], &WalkOptions::default()).collect();
        let audio: Vec<String> = found
            .iter()
            .filter_map(|f| match f {
                Found::Audio(p) => Some(p.strip_prefix(&dir).unwrap().display().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(audio, ["a/b/snare.flac", "a/kick.WAV"]);
        let problems: Vec<&String> = found
            .iter()
            .filter_map(|f| if let Found::Problem { message, .. } = f { Some(message) } else { None })
            .collect();
        assert!(problems.iter().any(|m| m.contains("No such file")), "{problems:?}");
        #[cfg(unix)]
        assert!(problems.iter().any(|m| m.contains("symlink loop")), "{problems:?}");
        let with_hidden = walk(std::slice::from_ref(&dir), &WalkOptions { include_hidden: true })
            .filter(|f| matches!(f, Found::Audio(_)))
            .count();
        assert_eq!(with_hidden, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
