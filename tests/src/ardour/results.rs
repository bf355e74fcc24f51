//! Reading what Ardour produced: the notes of an export, the lag of the audio, the plugin's
//! saved state.

use std::collections::BTreeMap;

/// The note-ons on one sample of an export of the notes snapshot, as "notes to clicks" draws
/// them: the sample, how many, and the sum of their keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Click {
    pub sample: u64,
    pub notes: u8,
    pub key_sum: u16,
}

/// The notes in an export of the notes snapshot (see `tests/ardour/notes_to_clicks.lua`).
///
/// # Panics
///
/// On a non-zero sample that is not a click (audio got through).
pub fn clicks(export: &[Vec<f32>; 2]) -> Vec<Click> {
    let [left, right] = export;
    let mut out = Vec::new();
    for (i, (&l, &r)) in left.iter().zip(right).enumerate() {
        if l == 0.0 && r == 0.0 {
            continue;
        }
        let (notes, key_sum) = (l * 16.0, r * 1024.0);
        assert!(
            notes.fract() == 0.0 && (1.0..=16.0).contains(&notes) && key_sum.fract() == 0.0 && key_sum >= 0.0,
            "sample {i} of the notes export ({l}, {r}) is not a click of note-ons: audio got through"
        );
        out.push(Click { sample: i as u64, notes: notes as u8, key_sum: key_sum as u16 });
    }
    out
}

/// The smallest lag `k` (within `max`) for which `out[n] == in[n + k]`, bit for bit, wherever
/// both exist in both channels, if any: how far the export is shifted from its input.
pub fn exact_lag(out: &[Vec<f32>; 2], input: &[Vec<f32>; 2], max: i64) -> Option<i64> {
    (0..=max).flat_map(|k| [k, -k]).find(|&k| {
        out.iter().zip(input).all(|(o, i)| {
            (0..o.len() as i64).all(|n| {
                let j = n + k;
                j < 0 || j >= i.len() as i64 || o[n as usize].to_bits() == i[j as usize].to_bits()
            })
        })
    })
}

/// Ardour's `<Processor>` element for the plugin named `name` in a saved `.ardour` file: the
/// parameter values Ardour keeps (`<Port id value>`, by VST3 parameter id) and the plugin's own
/// state, decoded from the base64 `<chunk>`.
#[derive(Debug, Clone)]
pub struct SavedPlugin {
    pub ports: BTreeMap<u32, f32>,
    pub chunk: Vec<u8>,
}

impl SavedPlugin {
    /// # Panics
    ///
    /// If the file has no such processor, or it has no state chunk.
    pub fn read(xml: &str, name: &str) -> Self {
        let start = xml
            .match_indices("<Processor id=\"")
            .map(|(i, _)| i)
            .find(|&i| {
                let tag = &xml[i..i + xml[i..].find('>').unwrap_or(0)];
                tag.contains(&format!(" name=\"{name}\"")) && tag.contains(" type=\"vst3\"")
            })
            .unwrap_or_else(|| panic!("the saved session has no VST3 processor named {name:?}"));
        let end = start + xml[start..].find("</Processor>").expect("unterminated <Processor>");
        let body = &xml[start..end];
        let attribute = |tag: &str, key: &str| -> Option<String> {
            let at = tag.find(&format!(" {key}=\""))? + key.len() + 3;
            Some(tag[at..at + tag[at..].find('"')?].to_owned())
        };
        let mut ports = BTreeMap::new();
        for (i, _) in body.match_indices("<Port ") {
            let tag = &body[i..i + body[i..].find('>').expect("unterminated <Port>")];
            if let (Some(id), Some(value)) = (attribute(tag, "id"), attribute(tag, "value")) {
                ports.insert(id.parse().expect("port id"), value.parse().expect("port value"));
            }
        }
        let chunk_at = body.find("<chunk>").unwrap_or_else(|| panic!("{name} has no <chunk> in the saved session"))
            + "<chunk>".len();
        let chunk_end = chunk_at + body[chunk_at..].find("</chunk>").expect("unterminated <chunk>");
        Self { ports, chunk: base64_decode(body[chunk_at..chunk_end].trim()) }
    }

    /// The JSON object in the state chunk (nice-plug's plugin state) that has a `"params"` key.
    ///
    /// # Panics
    ///
    /// If there is none.
    pub fn state_json(&self) -> serde_json::Value {
        let text = String::from_utf8_lossy(&self.chunk);
        for (i, _) in text.match_indices('{') {
            let mut stream = serde_json::Deserializer::from_str(&text[i..]).into_iter::<serde_json::Value>();
            if let Some(Ok(value)) = stream.next() {
                if value.get("params").is_some() {
                    return value;
                }
            }
        }
        panic!("no JSON plugin state in the chunk: {text:?}")
    }
}

/// Standard base64 (as glib writes it), whitespace ignored.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("{:?} is not a base64 character", c as char),
        }
    };
    let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(digits.len() / 4 * 3);
    for group in digits.chunks(4) {
        let data: Vec<u8> = group.iter().copied().take_while(|&c| c != b'=').collect();
        let bits = data.iter().fold(0u32, |acc, &c| acc << 6 | value(c)) << (6 * (4 - data.len()));
        out.extend_from_slice(&bits.to_be_bytes()[1..data.len().max(1)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_padded_and_unpadded_groups() {
        assert_eq!(base64_decode("TWFu"), b"Man");
        assert_eq!(base64_decode("TWE="), b"Ma");
        assert_eq!(base64_decode("TQ=="), b"M");
        assert_eq!(base64_decode("VlNUMw==\n"), b"VST3");
    }

    #[test]
    fn exact_lag_finds_a_shift() {
        let input = [vec![0.0, 0.0, 1.0, 2.0, 3.0, 0.0], vec![0.0, 0.0, 0.5, 1.0, 1.5, 0.0]];
        let early = [vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], vec![0.5, 1.0, 1.5, 0.0, 0.0, 0.0]];
        assert_eq!(exact_lag(&input, &input, 4), Some(0));
        assert_eq!(exact_lag(&early, &input, 4), Some(2));
        let late = [vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0], vec![0.0, 0.0, 0.0, 0.5, 1.0, 1.5]];
        assert_eq!(exact_lag(&late, &input, 4), Some(-1));
        assert_eq!(exact_lag(&early, &input, 1), None);
    }
}
