//! Cross-building the plugin and the CLI for 64-bit Windows on Debian 12, shared by
//! `cargo xtask bundle-windows` and the Wine tests (`tests/tests/windows.rs`, which include this
//! file with `#[path]` so the test builds exactly what the bundle task builds, into the same
//! target dir, without building xtask itself).
//!
//! rustup cannot add targets on these machines, so the build uses Debian's own Rust from the
//! security suite (`rustc-web`, `cargo-web`) and the standard library built from its source
//! (`rust-web-src`) with `-Zbuild-std` (`RUSTC_BOOTSTRAP=1` unlocks it on a stable compiler),
//! linked by mingw-w64. `/usr/bin/cargo` is called by its full path because rustup's cargo comes
//! first on `PATH`, and the build has a target dir of its own so the two compilers never share
//! artefacts. Compiler and library source must be the same version: [`check_toolchain`] compares
//! the two Debian packages. Only `std` is used here, so the file compiles in both crates.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Rust target triple of the Windows build.
pub const TARGET: &str = "x86_64-pc-windows-gnu";
/// The Debian 12 packages the cross-build needs (the first three from bookworm-security).
pub const PACKAGES: &str = "rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64";
/// Debian's compiler, cargo and rustdoc, and where `rust-web-src` puts the standard library.
const CARGO: &str = "/usr/bin/cargo";
const RUSTC: &str = "/usr/bin/rustc";
const RUSTDOC: &str = "/usr/bin/rustdoc";
const STD_SOURCE: &str = "/usr/lib/rustlib/src/rust/library/std/Cargo.toml";
/// The mingw-w64 linker and the tool that reads a PE file's import and export tables.
pub const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
const MINGW_OBJDUMP: &str = "x86_64-w64-mingw32-objdump";
const MINGW_STRIP: &str = "x86_64-w64-mingw32-strip";

/// DLLs every Windows 10 and 11 installation has, lower case. The plugin and the CLI may import
/// only these (and the `api-ms-win-*` API sets): a user has no mingw runtime DLLs
/// (libgcc_s_seh-1.dll, libwinpthread-1.dll) to load.
pub const SYSTEM_DLLS: &[&str] = &[
    "advapi32.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    "combase.dll",
    "comctl32.dll",
    "comdlg32.dll",
    "crypt32.dll",
    "dwmapi.dll",
    "gdi32.dll",
    "imm32.dll",
    "kernel32.dll",
    "msvcrt.dll",
    "ntdll.dll",
    "ole32.dll",
    "oleaut32.dll",
    "opengl32.dll",
    "propsys.dll",
    "rpcrt4.dll",
    "secur32.dll",
    "shell32.dll",
    "shlwapi.dll",
    "user32.dll",
    "userenv.dll",
    "uxtheme.dll",
    "version.dll",
    "winmm.dll",
    "ws2_32.dll",
];

/// A failed step of the Windows build, with what to do about it.
#[derive(Debug)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

type Result<T> = std::result::Result<T, BuildError>;

fn err<T>(message: impl Into<String>) -> Result<T> {
    Err(BuildError(message.into()))
}

/// Which cargo profile to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `dev`: what the tests use (the workspace's dev profile optimises dependencies anyway).
    Debug,
    /// `release`: what users download.
    Release,
}

impl Profile {
    /// The name `--profile` takes.
    pub fn cargo_name(self) -> &'static str {
        match self {
            Profile::Debug => "dev",
            Profile::Release => "release",
        }
    }

    /// The folder cargo writes this profile's artefacts to.
    pub fn dir_name(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

/// The two files the build makes.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// The plugin DLL (CLAP and VST3 in one file).
    pub plugin_dll: PathBuf,
    /// The command-line tool.
    pub cli_exe: PathBuf,
}

/// Checks that Debian's Rust, its standard library source and mingw-w64 are installed and that
/// compiler and library source are one version; returns the compiler's version line.
pub fn check_toolchain() -> Result<String> {
    let install = format!("apt-get install --no-install-recommends {PACKAGES} (as .ci/run does)");
    for path in [CARGO, RUSTC, RUSTDOC, STD_SOURCE] {
        if !Path::new(path).is_file() {
            return err(format!(
                "{path} is missing: the Windows build needs Debian 12's Rust and mingw-w64: {install}"
            ));
        }
    }
    if Command::new(MINGW_GCC).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        return err(format!("{MINGW_GCC} is not on PATH: {install}"));
    }
    let version = Command::new(RUSTC).arg("--version").output().map_err(|e| BuildError(format!("{RUSTC}: {e}")))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    // The std source must come from the same Debian package version as the compiler, or
    // -Zbuild-std fails with errors in the standard library itself.
    let packages = Command::new("dpkg-query").args(["-W", "-f", "${Version}\\n", "rustc-web", "rust-web-src"]).output();
    if let Ok(out) = packages {
        let text = String::from_utf8_lossy(&out.stdout);
        let versions: Vec<&str> = text.lines().collect();
        if versions.len() != 2 || versions[0] != versions[1] {
            return err(format!(
                "rustc-web and rust-web-src must be the same version, dpkg has {versions:?}: {install}"
            ));
        }
    }
    Ok(version)
}

/// The target dir the Windows build uses when none is given: `target/windows` in `workspace`.
pub fn default_target_dir(workspace: &Path) -> PathBuf {
    workspace.join("target").join("windows")
}

/// The `cargo build` of the plugin cdylib and the `drumsort` binary for Windows.
pub fn build_command(workspace: &Path, target_dir: &Path, profile: Profile) -> Command {
    let mut command = Command::new(CARGO);
    command
        .args(["build", "--target", TARGET, "-Zbuild-std=std,panic_unwind", "--profile", profile.cargo_name()])
        .args(["--package", "drumsort-plugin", "--package", "drumsort"])
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTC", RUSTC)
        .env("RUSTDOC", RUSTDOC)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER", MINGW_GCC)
        // Set by rustup's proxies and by `cargo run`/`cargo test` around us; they would point
        // Debian's cargo at rustup's compiler or tools.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO")
        .stdin(Stdio::null());
    command
}

/// Builds the plugin and the CLI for Windows (incrementally) and returns their paths.
/// cargo's output goes to this process's stderr; `quiet` passes `--quiet` (the tests).
pub fn build(workspace: &Path, target_dir: &Path, profile: Profile, quiet: bool) -> Result<Artifacts> {
    check_toolchain()?;
    let mut command = build_command(workspace, target_dir, profile);
    if quiet {
        command.arg("--quiet");
    }
    let status = command.status().map_err(|e| BuildError(format!("cannot run {CARGO}: {e}")))?;
    if !status.success() {
        return err(format!("the Windows build failed ({status}): {command:?}"));
    }
    let dir = target_dir.join(TARGET).join(profile.dir_name());
    let artifacts = Artifacts { plugin_dll: dir.join("drumsort_plugin.dll"), cli_exe: dir.join("drumsort.exe") };
    for file in [&artifacts.plugin_dll, &artifacts.cli_exe] {
        if !file.is_file() {
            return err(format!("the Windows build succeeded but {} is missing", file.display()));
        }
    }
    Ok(artifacts)
}

/// Removes the symbol table from the PE file `file` in place (the export table stays): a release
/// DLL goes from 45 to 31 MB.
pub fn strip(file: &Path) -> Result<()> {
    let status = Command::new(MINGW_STRIP)
        .arg(file)
        .status()
        .map_err(|e| BuildError(format!("cannot run {MINGW_STRIP} ({e}): install binutils-mingw-w64-x86-64")))?;
    if !status.success() {
        return err(format!("{MINGW_STRIP} {} failed ({status})", file.display()));
    }
    Ok(())
}

/// What a PE file (DLL or exe) imports and exports, read with mingw-w64's objdump.
#[derive(Debug, Default)]
pub struct PeTables {
    /// Imported DLL names, lower case.
    pub imports: Vec<String>,
    /// Exported symbol names.
    pub exports: Vec<String>,
}

impl PeTables {
    /// Reads the tables of `file`.
    pub fn read(file: &Path) -> Result<Self> {
        let out =
            Command::new(MINGW_OBJDUMP).arg("-p").arg(file).output().map_err(|e| {
                BuildError(format!("cannot run {MINGW_OBJDUMP} ({e}): install binutils-mingw-w64-x86-64"))
            })?;
        if !out.status.success() {
            return err(format!(
                "{MINGW_OBJDUMP} -p {} failed: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(Self::parse(&String::from_utf8_lossy(&out.stdout)))
    }

    /// The tables in `objdump -p` output.
    fn parse(text: &str) -> Self {
        let mut tables = PeTables::default();
        let mut in_exports = false;
        for line in text.lines() {
            if let Some(name) = line.trim().strip_prefix("DLL Name:") {
                tables.imports.push(name.trim().to_ascii_lowercase());
            }
            // The export name table: "[Ordinal/Name Pointer] Table" then "\t[   0] clap_entry" lines.
            if line.contains("[Ordinal/Name Pointer] Table") {
                in_exports = true;
                continue;
            }
            if in_exports {
                match line.trim().split_once(']') {
                    Some((index, name)) if index.starts_with('[') => tables.exports.push(name.trim().to_string()),
                    _ => in_exports = false,
                }
            }
        }
        tables.imports.sort();
        tables.imports.dedup();
        tables
    }

    /// Imported DLLs a plain Windows installation does not have.
    pub fn non_system_imports(&self) -> Vec<&str> {
        self.imports
            .iter()
            .map(String::as_str)
            .filter(|dll| !SYSTEM_DLLS.contains(dll) && !dll.starts_with("api-ms-win-"))
            .collect()
    }
}

/// Checks that the plugin DLL has the CLAP and VST3 entry points and that both files import only
/// [`SYSTEM_DLLS`]; returns the plugin's and the CLI's imports.
pub fn check_binaries(artifacts: &Artifacts) -> Result<(PeTables, PeTables)> {
    let plugin = PeTables::read(&artifacts.plugin_dll)?;
    for symbol in ["clap_entry", "GetPluginFactory"] {
        if !plugin.exports.iter().any(|e| e == symbol) {
            return err(format!(
                "{} does not export {symbol}: exports {:?}",
                artifacts.plugin_dll.display(),
                plugin.exports
            ));
        }
    }
    let cli = PeTables::read(&artifacts.cli_exe)?;
    for (file, tables) in [(&artifacts.plugin_dll, &plugin), (&artifacts.cli_exe, &cli)] {
        let foreign = tables.non_system_imports();
        if !foreign.is_empty() {
            return err(format!("{} imports DLLs Windows does not ship: {foreign:?}", file.display()));
        }
    }
    Ok((plugin, cli))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of `x86_64-w64-mingw32-objdump -p` output that [`PeTables::read`] reads.
    const OBJDUMP: &str = "\
The Import Tables (interpreted .idata section contents)
\tDLL Name: KERNEL32.dll
\tDLL Name: libgcc_s_seh-1.dll
\tDLL Name: api-ms-win-core-synch-l1-2-0.dll
\tDLL Name: kernel32.dll

[Ordinal/Name Pointer] Table
\t[   0] GetPluginFactory
\t[   1] clap_entry

The Function Table (interpreted .pdata section contents)
";

    #[test]
    fn objdump_tables_give_imports_exports_and_the_dlls_windows_lacks() {
        let tables = PeTables::parse(OBJDUMP);
        assert_eq!(tables.imports, ["api-ms-win-core-synch-l1-2-0.dll", "kernel32.dll", "libgcc_s_seh-1.dll"]);
        assert_eq!(tables.exports, ["GetPluginFactory", "clap_entry"]);
        assert_eq!(tables.non_system_imports(), ["libgcc_s_seh-1.dll"]);
    }
}
