//! `cargo xtask install`: bundles the plugin in release mode and copies the CLAP and VST3 bundles
//! into the user's plugin folders (`~/.clap`, `~/.vst3` on Linux; the platform's user folders
//! elsewhere), replacing an earlier install of Drumsort only.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Bundle names as set in bundler.toml.
const CLAP: &str = "Drumsort.clap";
const VST3: &str = "Drumsort.vst3";

fn user_dirs() -> Result<(PathBuf, PathBuf)> {
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    Ok(if cfg!(target_os = "macos") {
        let base = home.join("Library/Audio/Plug-Ins");
        (base.join("CLAP"), base.join("VST3"))
    } else if cfg!(target_os = "windows") {
        let common = PathBuf::from(std::env::var_os("COMMONPROGRAMFILES").context("COMMONPROGRAMFILES is not set")?);
        (common.join("CLAP"), common.join("VST3"))
    } else {
        (home.join(".clap"), home.join(".vst3"))
    })
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// Replaces `dest` (a previous Drumsort bundle) with `src`.
fn install_one(src: &Path, dest_dir: &Path) -> Result<PathBuf> {
    let name = src.file_name().context("bundle has no name")?;
    let dest = dest_dir.join(name);
    std::fs::create_dir_all(dest_dir).with_context(|| format!("creating {}", dest_dir.display()))?;
    if dest.is_dir() {
        std::fs::remove_dir_all(&dest)?;
    } else if dest.exists() {
        std::fs::remove_file(&dest)?;
    }
    copy_tree(src, &dest)?;
    Ok(dest)
}

pub fn run() -> Result<()> {
    let status =
        std::process::Command::new("cargo").args(["xtask", "bundle", "drumsort-plugin", "--release"]).status()?;
    if !status.success() {
        bail!("bundling failed");
    }
    let bundled = Path::new("target/bundled");
    let (clap_dir, vst3_dir) = user_dirs()?;
    for (bundle, dir) in [(CLAP, clap_dir), (VST3, vst3_dir)] {
        let dest = install_one(&bundled.join(bundle), &dir)?;
        println!("installed {}", dest.display());
    }
    Ok(())
}
