//! Maps field paths (`network.create.subnets[1].cidr`) to where they stand in the file.
//!
//! serde reports *what* is wrong and where in the data; this index says *which line*, so
//! every error, including semantic ones found after parsing, can point at the source.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::Marker;

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// Positions of every mapping key and sequence item in a YAML document, and the nodes
/// that carry a tag.
#[derive(Debug, Default)]
pub struct PathIndex {
    positions: HashMap<String, Position>,
    tagged: Vec<(String, String)>,
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
            tagged: builder.tagged,
        }
    }

    /// Each node written with a tag outside YAML's core schema (`!!binary`, `!Ref`, a
    /// verbatim `!<…>`), as its field path and the tag as written. serde_yaml drops
    /// `!!` tags without a word, so they are found here, where the parser still sees
    /// them.
    pub fn foreign_tags(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tagged
            .iter()
            .map(|(path, tag)| (path.as_str(), tag.as_str()))
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

/// The tags of YAML's core schema, which name what a plain value already is.
const CORE_TAGS: &[&str] = &["str", "int", "float", "bool", "null", "map", "seq"];

/// What `!!` stands for.
const YAML_ORG: &str = "tag:yaml.org,2002:";

#[derive(Default)]
struct Builder {
    frames: Vec<Frame>,
    positions: HashMap<String, Position>,
    tagged: Vec<(String, String)>,
}

impl Builder {
    /// The path of the node that starts now, registering its position; `is_key` when the
    /// event is a mapping key (its path is the field it names) rather than a value.
    fn node_path(&mut self, mark: Marker, key_text: &str) -> (String, bool) {
        let position = Position {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match self.frames.last_mut() {
            None => (String::new(), false),
            Some(Frame::Seq { path, next }) => {
                let item = format!("{path}[{next}]");
                *next += 1;
                self.positions.insert(item.clone(), position);
                (item, false)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(key) => (join(path, &key), false),
                None => {
                    let field = join(path, key_text);
                    self.positions.insert(field.clone(), position);
                    *key = Some(key_text.to_owned());
                    (field, true)
                }
            },
        }
    }

    /// Registers a node; the path of the collection it opens, unless it is a key.
    fn node(&mut self, mark: Marker, key_text: &str, tag: Option<&Tag>) -> Option<String> {
        let (path, is_key) = self.node_path(mark, key_text);
        if let Some(tag) = tag.filter(|tag| !is_core(tag)) {
            self.tagged.push((path.clone(), written(tag)));
        }
        (!is_key).then_some(path)
    }
}

fn is_core(tag: &Tag) -> bool {
    tag.handle == YAML_ORG && CORE_TAGS.contains(&tag.suffix.as_str())
}

/// A tag as the user wrote it: `!!binary` rather than its resolved `tag:yaml.org,2002:`.
fn written(tag: &Tag) -> String {
    match tag.handle.as_str() {
        YAML_ORG => format!("!!{}", tag.suffix),
        handle => format!("{handle}{}", tag.suffix),
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
            Event::Scalar(text, _, _, tag) => {
                self.node(mark, &text, tag.as_ref());
            }
            Event::Alias(_) => {
                self.node(mark, "", None);
            }
            Event::MappingStart(_, tag) => {
                if let Some(path) = self.node(mark, "", tag.as_ref()) {
                    self.frames.push(Frame::Map { path, key: None });
                }
            }
            Event::SequenceStart(_, tag) => {
                if let Some(path) = self.node(mark, "", tag.as_ref()) {
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
    fn tags_outside_the_core_schema_are_found() {
        let index = PathIndex::new("stack: !!binary cXVpY2s=\nport: !!int 6379\nlist: !Ref [a]\n");
        let tags: Vec<_> = index.foreign_tags().collect();
        assert_eq!(tags, [("stack", "!!binary"), ("list", "!Ref")]);
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        let index = PathIndex::new(SOURCE);
        let missing = index.locate("network.create.vpc_cidr");
        assert_eq!(missing.map(|p| p.line), Some(3));
        assert_eq!(index.locate("nowhere"), None);
    }
}
