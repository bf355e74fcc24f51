//! File names Drumsort writes, made from names it found: whatever bytes a sample's name holds,
//! the result is one plain path component that cannot climb out of its folder, hide itself, name a
//! device or break a terminal.

use std::ffi::OsStr;

/// Longest name produced, bytes: leaves room for a ` (NNNN)` collision suffix under the 255-byte
/// limit of common file systems.
pub const MAX_NAME_BYTES: usize = 200;

/// Names Windows reserves for devices, whatever follows them after a dot.
const RESERVED: [&str; 24] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "lpt1", "lpt2",
    "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "conin$", "conout$",
];

/// Whether Windows reads the file name `name` as a device (`CON`, `aux.wav`, `nul.tar.gz`,
/// `COM1 .wav`, `LPT¹`): the part before the first dot, trailing spaces dropped, is a reserved
/// name in any case (`COM` and `LPT` also with a superscript digit).
pub fn is_device_name(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name).trim_end_matches(' ').to_lowercase();
    if RESERVED.contains(&base.as_str()) {
        return true;
    }
    ["com", "lpt"]
        .iter()
        .any(|device| base.strip_prefix(device).is_some_and(|digit| matches!(digit, "\u{b9}" | "\u{b2}" | "\u{b3}")))
}

/// A safe single-component version of `name`: bytes that are not UTF-8 and control characters,
/// path separators and the characters Windows forbids become `_`; a leading dot (hidden files,
/// `.` and `..`) becomes `_`; trailing dots and spaces go; device names get a `_` prefix; long
/// names are cut at a character boundary keeping their extension; an empty result is `unnamed`.
pub fn sanitize(name: &OsStr) -> String {
    let lossy = name.to_string_lossy();
    let mut s: String = lossy
        .chars()
        .map(|c| match c {
            c if c.is_control() => '_',
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '\u{FFFD}' => '_',
            c => c,
        })
        .collect();
    s = s.trim_end_matches(['.', ' ']).trim_start_matches(' ').to_string();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.is_empty() {
        return "unnamed".into();
    }
    if is_device_name(&s) {
        s = format!("_{s}");
    }
    if s.len() > MAX_NAME_BYTES {
        let (stem, ext) = split_ext(&s);
        let ext = if ext.len() <= 16 { ext } else { "" };
        let mut cut = MAX_NAME_BYTES - ext.len();
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        s = format!("{}{ext}", &stem[..cut]);
    }
    s
}

/// `name` with a collision counter: `kick.wav`, 2 -> `kick (2).wav`.
pub fn numbered(name: &str, n: usize) -> String {
    if n <= 1 {
        return name.to_string();
    }
    let (stem, ext) = split_ext(name);
    format!("{stem} ({n}){ext}")
}

/// `("kick", ".wav")`; a name that is all extension (`.wav`) or has none keeps it in the stem.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_single_safe_component(s: &str) {
        assert!(!s.is_empty());
        assert!(!s.contains(['/', '\\', '\0']), "{s:?}");
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(!s.starts_with('.'), "{s:?}");
        assert!(s.len() <= MAX_NAME_BYTES, "{}", s.len());
        let p = std::path::Path::new(s);
        assert_eq!(p.components().count(), 1, "{s:?}");
        assert!(matches!(p.components().next(), Some(std::path::Component::Normal(_))), "{s:?}");
    }

    #[test]
    fn hostile_names_become_one_plain_component() {
        let long = format!("{}.wav", "é".repeat(300));
        let cases = [
            "..",
            ".",
            "...",
            "../../etc/passwd",
            "a\\..\\b.wav",
            "line\nbreak.wav",
            "\u{1b}[31mred.wav",
            ".hidden.wav",
            "CON.wav",
            "nul",
            "trailing. . ",
            "",
            "   ",
            "a:b*c?.wav",
            long.as_str(),
        ];
        for c in cases {
            let s = sanitize(OsStr::new(c));
            is_single_safe_component(&s);
        }
        assert_eq!(sanitize(OsStr::new("kick 01.wav")), "kick 01.wav");
        assert_eq!(sanitize(OsStr::new("..")), "unnamed");
        assert_eq!(sanitize(OsStr::new(".hidden.wav")), "_hidden.wav");
        assert_eq!(sanitize(OsStr::new("CON.wav")), "_CON.wav");
        assert_eq!(sanitize(OsStr::new("kick.")), "kick");
        assert_eq!(sanitize(OsStr::new("a/b\\c.wav")), "a_b_c.wav");
        let cut = sanitize(OsStr::new(&long));
        assert!(cut.ends_with(".wav") && cut.starts_with('é'), "{cut}");
    }

    /// Every name here is one Windows refuses or reads as something else: each comes out as a
    /// name it stores as written.
    #[test]
    fn names_windows_refuses_become_valid_windows_names() {
        let cases = [
            ("CON", "_CON"),
            ("aux.wav", "_aux.wav"),
            ("NUL", "_NUL"),
            ("nul.tar.wav", "_nul.tar.wav"),
            ("COM1", "_COM1"),
            ("com9.WAV", "_com9.WAV"),
            ("LPT\u{b9}.wav", "_LPT\u{b9}.wav"),
            ("Com1 .wav", "_Com1 .wav"),
            ("conout$.wav", "_conout$.wav"),
            ("prn", "_prn"),
            ("snare. . ", "snare"),
            ("hat.wav.", "hat.wav"),
            ("tom   ", "tom"),
            ("<open> hat: \"dark\" | 1/2 * ?.wav", "_open_ hat_ _dark_ _ 1_2 _ _.wav"),
            ("back\\slash.wav", "back_slash.wav"),
        ];
        for (name, want) in cases {
            let got = sanitize(OsStr::new(name));
            assert_eq!(got, want, "{name:?}");
            assert!(!is_device_name(&got), "{got:?} is still a device name");
            assert!(!got.ends_with(['.', ' ']), "{got:?}");
            assert!(!got.contains(['<', '>', ':', '"', '/', '\\', '|', '?', '*']), "{got:?}");
        }
        // Names that only look like devices stay as they are.
        for name in ["console.wav", "com10.wav", "lpt0.wav", "auxiliary kick.wav", "nul_snare.wav", "my con.wav"] {
            assert!(!is_device_name(name), "{name}");
            assert_eq!(sanitize(OsStr::new(name)), name);
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_bytes_are_replaced() {
        use std::os::unix::ffi::OsStrExt;
        let s = sanitize(OsStr::from_bytes(b"sn\xffare\xfe.wav"));
        assert_eq!(s, "sn_are_.wav");
        is_single_safe_component(&s);
    }

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(numbered("kick.wav", 1), "kick.wav");
        assert_eq!(numbered("kick.wav", 2), "kick (2).wav");
        assert_eq!(numbered("kick", 3), "kick (3)");
        assert_eq!(numbered("a.b.flac", 2), "a.b (2).flac");
    }
}
