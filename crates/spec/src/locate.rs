//! Maps field paths (`network.create.subnets[1].cidr`) to where they stand in the file.
//!
//! serde reports *what* is wrong and where in the data; this index says *which line*, so
//! every error, including semantic ones found after parsing, can point at the source.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// Positions of every mapping key and sequence item in a YAML document.
#[derive(Debug, Default)]
pub struct PathIndex {
    positions: HashMap<String, Position>,
}

impl PathIndex {
    /// Indexes `source`. A document YAML cannot parse yields an empty index (the parse
    /// error itself carries a position).
    pub fn new(source: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(source);
        if parser.load(&mut builder, false).is_err() {
            return PathIndex::default();
        }
        PathIndex {
            positions: builder.positions,
        }
    }

    /// Where `path` stands, or the nearest enclosing field that is written in the file
    /// (a missing field is reported at its parent).
    pub fn locate(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(position) = self.positions.get(path) {
                return Some(*position);
            }
            path = parent(path)?;
        }
    }
}

/// `a.b[2]` → `a.b`, `a.b` → `a`, `a` → none.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    frames: Vec<Frame>,
    positions: HashMap<String, Position>,
}

impl Builder {
    /// The path of the value that starts now, registering its position; `None` when the
    /// event is a mapping key rather than a value.
    fn value_path(&mut self, mark: Marker, key_text: Option<&str>) -> Option<String> {
        let position = Position {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match self.frames.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let item = format!("{path}[{next}]");
                *next += 1;
                self.positions.insert(item.clone(), position);
                Some(item)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(key) => Some(join(path, &key)),
                None => {
                    let key_text = key_text.unwrap_or_default().to_owned();
                    self.positions.insert(join(path, &key_text), position);
                    if let Some(Frame::Map { key, .. }) = self.frames.last_mut() {
                        *key = Some(key_text);
                    }
                    None
                }
            },
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                self.value_path(mark, Some(&text));
            }
            Event::Alias(_) => {
                self.value_path(mark, Some(""));
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.value_path(mark, Some("")) {
                    self.frames.push(Frame::Map { path, key: None });
                }
            }
            Event::SequenceStart(..) => {
                if let Some(path) = self.value_path(mark, Some("")) {
                    self.frames.push(Frame::Seq { path, next: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "stack: demo\nnetwork:\n  create:\n    subnets:\n      - cidr: 10.0.1.0/24\n      - cidr: 10.0.2.0/24\n        availability_zone: a\n";

    #[test]
    fn finds_keys_and_items() {
        let index = PathIndex::new(SOURCE);
        assert_eq!(index.locate("stack").map(|p| p.line), Some(1));
        assert_eq!(index.locate("network.create").map(|p| p.line), Some(3));
        let cidr = index.locate("network.create.subnets[1].cidr");
        assert_eq!(cidr, Some(Position { line: 6, column: 9 }));
        let az = index.locate("network.create.subnets[1].availability_zone");
        assert_eq!(az.map(|p| p.line), Some(7));
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        let index = PathIndex::new(SOURCE);
        let missing = index.locate("network.create.vpc_cidr");
        assert_eq!(missing.map(|p| p.line), Some(3));
        assert_eq!(index.locate("nowhere"), None);
    }
}
