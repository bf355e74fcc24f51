//! Output formats shared by the listing commands: an aligned human table, one JSON array, JSON
//! lines (one object per file) and CSV.

use std::io::{self, Write};

use serde_json::{Map, Value};

/// How records are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

/// Text for one table or CSV cell.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}"),
            _ => n.to_string(),
        },
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes records to stdout. `columns` picks and orders the table/CSV columns (JSON formats
/// print whole records); nested objects are flattened as `key.sub` columns in CSV.
pub struct Printer {
    format: Format,
    columns: Vec<&'static str>,
    /// Table rows wait here so column widths fit the longest cell.
    rows: Vec<Vec<String>>,
    first: bool,
    out: io::BufWriter<io::Stdout>,
}

impl Printer {
    pub fn new(format: Format, columns: Vec<&'static str>) -> Self {
        Self { format, columns, rows: Vec::new(), first: true, out: io::BufWriter::new(io::stdout()) }
    }

    fn flat(&self, record: &Map<String, Value>) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| match c.split_once('.') {
                Some((outer, inner)) => record.get(outer).and_then(|o| o.get(inner)).map(cell).unwrap_or_default(),
                None => record.get(*c).map(cell).unwrap_or_default(),
            })
            .collect()
    }

    /// Prints (or, for tables, queues) one record.
    pub fn record(&mut self, record: Map<String, Value>) -> io::Result<()> {
        match self.format {
            Format::Jsonl => writeln!(self.out, "{}", Value::Object(record))?,
            Format::Json => {
                write!(self.out, "{}\n  {}", if self.first { "[" } else { "," }, Value::Object(record))?;
            }
            Format::Csv => {
                if self.first {
                    writeln!(self.out, "{}", self.columns.join(","))?;
                }
                let row: Vec<String> = self.flat(&record).iter().map(|c| csv_escape(c)).collect();
                writeln!(self.out, "{}", row.join(","))?;
            }
            Format::Table => {
                let row = self.flat(&record);
                self.rows.push(row);
            }
        }
        self.first = false;
        Ok(())
    }

    /// Ends the output (closing bracket, or the whole aligned table).
    pub fn finish(mut self) -> io::Result<()> {
        match self.format {
            Format::Json => writeln!(self.out, "{}", if self.first { "[]" } else { "\n]" })?,
            Format::Table => {
                let header: Vec<String> = self.columns.iter().map(|c| c.to_string()).collect();
                let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
                for row in &self.rows {
                    for (w, c) in widths.iter_mut().zip(row) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                for row in std::iter::once(&header).chain(&self.rows) {
                    let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
                    writeln!(self.out, "{}", line.join("  ").trim_end())?;
                }
            }
            Format::Jsonl | Format::Csv => {}
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_escapes_and_cells_format() {
        assert_eq!(csv_escape("a,b"), "\"a,b\"");
        assert_eq!(csv_escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_escape("plain"), "plain");
        assert_eq!(cell(&serde_json::json!(0.12345)), "0.123");
        assert_eq!(cell(&serde_json::json!(3)), "3");
        assert_eq!(cell(&Value::Null), "");
        assert_eq!(cell(&serde_json::json!(["a", "b"])), "a; b");
    }
}
