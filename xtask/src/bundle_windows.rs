//! `cargo xtask bundle-windows`: the plugin and the CLI cross-built for 64-bit Windows
//! ([`crate::windows_build`]), laid out the way Windows hosts look for them, plus one zip for users:
//!
//! ```text
//! target/bundled-windows/Drumsort.clap                              the CLAP plugin (the DLL)
//! target/bundled-windows/Drumsort.vst3/Contents/x86_64-win/Drumsort.vst3   the VST3 bundle
//! target/bundled-windows/drumsort.exe                               the command-line tool
//! target/bundled-windows/drumsort-windows-x86_64.zip                all three, to download
//! ```
//!
//! nice-plug-xtask's `bundle` cannot do this: it bundles for the platform it runs on and calls
//! rustup's cargo, which has no Windows standard library here.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::windows_build::{self, Profile};

/// Where the bundles go, relative to the workspace root.
const OUT_DIR: &str = "target/bundled-windows";
/// The bundle name from bundler.toml.
const NAME: &str = "Drumsort";
/// The zip users download.
pub const ZIP_NAME: &str = "drumsort-windows-x86_64.zip";

#[derive(clap::Args)]
pub struct BundleWindowsArgs {
    /// Build the dev profile instead of release (what the Wine tests use; for trying things out).
    #[arg(long)]
    debug: bool,
}

pub fn run(args: BundleWindowsArgs) -> Result<()> {
    let workspace = std::env::current_dir()?;
    let profile = if args.debug { Profile::Debug } else { Profile::Release };
    let version = windows_build::check_toolchain()?;
    eprintln!("building for {} with {version} ({} profile)", windows_build::TARGET, profile.cargo_name());
    let started = Instant::now();
    let target_dir = windows_build::default_target_dir(&workspace);
    let artifacts = windows_build::build(&workspace, &target_dir, profile, false)?;
    let build_time = started.elapsed();

    let out = workspace.join(OUT_DIR);
    let files = lay_out(&artifacts, &out)?;
    // Check what users get, after stripping.
    let bundled = windows_build::Artifacts { plugin_dll: out.join(&files[0]), cli_exe: out.join(&files[2]) };
    let (plugin_tables, cli_tables) = windows_build::check_binaries(&bundled)?;
    let zip = out.join(ZIP_NAME);
    write_zip(&out, &files, &zip)?;

    println!("built in {:.0} s ({} profile)", build_time.as_secs_f64(), profile.cargo_name());
    for file in files.iter().map(|f| out.join(f)).chain([zip]) {
        println!("{:>8.1} MB  {}", megabytes(&file)?, file.display());
    }
    println!("plugin imports: {}", plugin_tables.imports.join(" "));
    println!("CLI imports:    {}", cli_tables.imports.join(" "));
    Ok(())
}

/// Copies the build into `out` in the Windows layouts, without symbol tables; returns the files,
/// relative to `out`: the CLAP plugin, the VST3 binary, the CLI.
fn lay_out(artifacts: &windows_build::Artifacts, out: &Path) -> Result<Vec<PathBuf>> {
    let clap = PathBuf::from(format!("{NAME}.clap"));
    let vst3_bundle = PathBuf::from(format!("{NAME}.vst3"));
    let vst3 = vst3_bundle.join("Contents").join("x86_64-win").join(format!("{NAME}.vst3"));
    let exe = PathBuf::from("drumsort.exe");
    // Start from scratch so a file from an earlier layout never ends up in the zip.
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
    }
    std::fs::create_dir_all(out.join(vst3.parent().expect("the VST3 binary has a folder")))?;
    for (from, to) in [(&artifacts.plugin_dll, &clap), (&artifacts.plugin_dll, &vst3), (&artifacts.cli_exe, &exe)] {
        std::fs::copy(from, out.join(to))
            .with_context(|| format!("copying {} to {}", from.display(), out.join(to).display()))?;
        windows_build::strip(&out.join(to))?;
    }
    Ok(vec![clap, vst3, exe])
}

/// Writes `files` (relative to `root`) into a deflated zip at `zip`, with `/` separators as the
/// format wants and the default 1980 time stamps, so the same build gives the same zip.
fn write_zip(root: &Path, files: &[PathBuf], zip: &Path) -> Result<()> {
    let mut writer = zip::ZipWriter::new(File::create(zip).with_context(|| format!("creating {}", zip.display()))?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for file in files {
        let name: Vec<String> = file.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        writer.start_file(name.join("/"), options)?;
        writer.write_all(&std::fs::read(root.join(file))?)?;
    }
    writer.finish()?;
    Ok(())
}

fn megabytes(file: &Path) -> Result<f64> {
    Ok(std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?.len() as f64 / 1e6)
}
