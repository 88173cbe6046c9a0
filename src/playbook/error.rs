//! Validation errors: each names file, line, column and the step's path.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// `steps[3].then[1]`, `params.seats`, `playbook`; empty for file-level errors.
    pub path: String,
    pub message: String,
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one file, in source order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlaybookErrors(pub Vec<PlaybookError>);

impl fmt::Display for PlaybookErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Where each line of a source starts: byte offsets become line:column by
/// a binary search instead of a rescan of everything before them, so a
/// file with thousands of steps (and a location per key) checks in linear
/// time.
pub struct LineIndex {
    /// Byte offset of the first character of each line.
    starts: Vec<usize>,
    /// Whether each line is ASCII: then a column is a byte difference.
    ascii: Vec<bool>,
}

impl LineIndex {
    pub fn new(src: &str) -> Self {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            } else if !b.is_ascii() {
                line_ascii = false;
            }
        }
        ascii.push(line_ascii);
        Self { starts, ascii }
    }

    /// 1-based line and column (in characters) of byte `offset` in `src`,
    /// the text this index was made from.
    pub fn line_col(&self, src: &str, offset: usize) -> (usize, usize) {
        let offset = src.floor_char_boundary(offset.min(src.len()));
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = if self.ascii[line - 1] {
            offset - start
        } else {
            src[start..offset].chars().count()
        };
        (line, column + 1)
    }
}

/// Characters of a value a message quotes at most: enough to recognise it,
/// never a whole file pasted into a string by mistake.
pub const EXCERPT_CHARS: usize = 40;

/// `text`, cut to [`EXCERPT_CHARS`] characters with `…` when longer.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// 1-based line and column (in characters) of a byte offset. Scans `src`:
/// for one-off use; [`LineIndex`] for many offsets of one file.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(src).line_col(src, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(excerpt(&long), format!("{}…", "é".repeat(EXCERPT_CHARS)));
    }

    #[test]
    fn line_index_agrees_with_a_rescan() {
        let src = "ab\r\nçé = 1\n\nx = \"ü\"\nlast";
        let index = LineIndex::new(src);
        for offset in 0..=src.len() + 2 {
            let o = src.floor_char_boundary(offset.min(src.len()));
            let before = &src[..o];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            assert_eq!(
                index.line_col(src, offset),
                (line, column),
                "offset {offset}"
            );
        }
    }
}
