//! Plain-text tables whose columns are as wide as their widest cell, so a
//! long output name or company never pushes a row out of line.

/// How a column's cells sit in its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

pub(crate) struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
    /// Printed before every line.
    indent: &'static str,
}

/// Columns are separated by this.
const GAP: &str = "  ";

impl Table {
    pub(crate) fn new(headers: &[(&'static str, Align)]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
            indent: "",
        }
    }

    pub(crate) fn indent(mut self, indent: &'static str) -> Self {
        self.indent = indent;
        self
    }

    /// One row; a cell's line breaks become spaces (one row, one line).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(
            cells
                .into_iter()
                .map(|c| c.replace(['\n', '\r'], " "))
                .collect(),
        );
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table with its header line; the last column is not padded.
    pub(crate) fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let widths: Vec<usize> = self
            .headers
            .iter()
            .enumerate()
            .map(|(i, (h, _))| {
                self.rows
                    .iter()
                    .map(|r| width(&r[i]))
                    .chain([width(h)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<String> = self.headers.iter().map(|(h, _)| h.to_string()).collect();
        let mut out = String::new();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let last = cells.len() - 1;
            let line: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let pad = widths[i] - width(c);
                    match self.headers[i].1 {
                        Align::Right => format!("{}{c}", " ".repeat(pad)),
                        Align::Left if i == last => c.clone(),
                        Align::Left => format!("{c}{}", " ".repeat(pad)),
                    }
                })
                .collect();
            out.push_str(self.indent);
            out.push_str(line.join(GAP).trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_their_widest_cell() {
        let mut t = Table::new(&[
            ("id", Align::Right),
            ("name", Align::Left),
            ("kind", Align::Left),
        ]);
        t.row(vec![
            "7".into(),
            "licence_key[SN-VERY-LONG-SERIAL-0001]".into(),
            "licence_key".into(),
        ]);
        t.row(vec!["12".into(), "pw".into(), "pass\nword".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id  name                                   kind");
        assert_eq!(
            lines[1],
            " 7  licence_key[SN-VERY-LONG-SERIAL-0001]  licence_key"
        );
        assert_eq!(
            lines[2],
            "12  pw                                     pass word"
        );
    }
}
