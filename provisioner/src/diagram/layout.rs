//! Geometry for a [`Diagram`]: every box sized from its text, then placed by dagre's layered
//! layout (ranks top to bottom, crossings reduced, nested groups kept together, edge labels given
//! room of their own so they never sit on a box). Text is measured as monospace, so a size
//! computed here is the size the SVG draws, with no font metrics needed.

use std::collections::HashMap;

use dagre::graph::{Graph, GraphOptions};
use dagre::{EdgeLabel, LayoutOptions, NodeLabel, RankAlign, RankDir};

use super::model::{Diagram, NodeKind};

/// Font sizes in px, and the advance of one monospace character as a share of the font size
/// (DejaVu Sans Mono, Menlo and Consolas are all within 0.60–0.61).
pub const TITLE_SIZE: f64 = 14.0;
pub const LINE_SIZE: f64 = 12.0;
pub const LABEL_SIZE: f64 = 11.0;
pub const GROUP_TITLE_SIZE: f64 = 12.0;
const ADVANCE: f64 = 0.61;
pub const TITLE_HEIGHT: f64 = 18.0;
pub const LINE_HEIGHT: f64 = 15.0;
pub const LABEL_LINE_HEIGHT: f64 = 13.0;
pub const PAD_X: f64 = 10.0;
pub const PAD_Y: f64 = 7.0;

/// Lines longer than these are wrapped.
const MAX_LINE_CHARS: usize = 50;
const MAX_LABEL_CHARS: usize = 28;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeBox {
    pub rect: Rect,
    pub title: Vec<String>,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupBox {
    pub rect: Rect,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdgePath {
    pub points: Vec<(f64, f64)>,
    pub label: Option<(Rect, Vec<String>)>,
}

/// Where everything goes; `edges` is in the diagram's edge order.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub nodes: HashMap<String, NodeBox>,
    pub groups: HashMap<String, GroupBox>,
    pub edges: Vec<EdgePath>,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("the layout gave {what} {id:?} no position; this is a bug in provisioner describe, please report it")]
    Unplaced { what: &'static str, id: String },
    #[error(
        "the diagram has an arrow from {from:?} to {to:?}, which is not a box; this is a bug in provisioner describe"
    )]
    DanglingEdge { from: String, to: String },
}

fn text_width(chars: usize, font_size: f64) -> f64 {
    chars as f64 * font_size * ADVANCE
}

/// Splits `text` into lines of at most `max` characters, preferring to break after a space, then
/// after `/`, `,`, `:`, `-`, `@` or `.`, so that ARNs and image URIs stay readable.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        // A space is the best break; inside a word, the separators of URIs and names.
        let after = |separators: &[char]| {
            window.iter().rposition(|c| separators.contains(c)).filter(|&i| i >= max / 3).map(|i| i + 1)
        };
        let cut = after(&[' ']).or_else(|| after(&['/', ',', ':', '-', '@', '.'])).unwrap_or(max);
        let line: String = rest[..cut].iter().collect();
        lines.push(line.trim_end().to_owned());
        rest.drain(..cut);
        while rest.first() == Some(&' ') {
            rest.remove(0);
        }
    }
    if !rest.is_empty() || lines.is_empty() {
        lines.push(rest.into_iter().collect());
    }
    lines
}

fn longest(lines: &[String]) -> usize {
    lines.iter().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Places `diagram`. Deterministic: the same diagram gives the same layout.
pub fn layout(diagram: &Diagram) -> Result<Layout, LayoutError> {
    let mut graph: Graph<NodeLabel, EdgeLabel> =
        Graph::with_options(GraphOptions { directed: true, multigraph: true, compound: true });

    for group in &diagram.groups {
        // A group's own width keeps its title inside it when the contents are narrower.
        graph.set_node(group.id.clone(), Some(NodeLabel::default()));
    }
    for group in &diagram.groups {
        if let Some(parent) = &group.parent {
            graph.set_parent(&group.id, Some(parent));
        }
    }

    let mut boxes = HashMap::new();
    for node in &diagram.nodes {
        let title = wrap(&node.title, MAX_LINE_CHARS);
        let lines: Vec<String> = node.lines.iter().flat_map(|l| wrap(l, MAX_LINE_CHARS)).collect();
        let (width, height) = match node.kind {
            NodeKind::Start | NodeKind::End => (text_width(longest(&title), TITLE_SIZE) + 36.0, 30.0),
            NodeKind::Join => (text_width(longest(&title), LINE_SIZE) + 2.0 * PAD_X, LINE_HEIGHT + 2.0 * 4.0),
            NodeKind::State | NodeKind::Resource => {
                let width = text_width(longest(&title), TITLE_SIZE).max(text_width(longest(&lines), LINE_SIZE));
                let height = title.len() as f64 * TITLE_HEIGHT + lines.len() as f64 * LINE_HEIGHT;
                (width + 2.0 * PAD_X, height + 2.0 * PAD_Y)
            }
        };
        let label = NodeLabel { width, height, ..NodeLabel::default() };
        graph.set_node(node.id.clone(), Some(label));
        if let Some(group) = &node.group {
            graph.set_parent(&node.id, Some(group));
        }
        boxes.insert(node.id.clone(), (title, lines));
    }

    let mut labels = Vec::new();
    for (index, edge) in diagram.edges.iter().enumerate() {
        for end in [&edge.from, &edge.to] {
            if !boxes.contains_key(end) {
                return Err(LayoutError::DanglingEdge { from: edge.from.clone(), to: edge.to.clone() });
            }
        }
        let text = edge.label.as_deref().map(|l| wrap(l, MAX_LABEL_CHARS));
        let mut label = EdgeLabel { labelpos: dagre::layout::types::LabelPos::Center, ..EdgeLabel::default() };
        label.minlen = i32::try_from(edge.min_ranks.max(1)).unwrap_or(i32::MAX);
        if let Some(text) = &text {
            label.width = text_width(longest(text), LABEL_SIZE) + 8.0;
            label.height = text.len() as f64 * LABEL_LINE_HEIGHT + 4.0;
        }
        graph.set_edge(edge.from.clone(), edge.to.clone(), Some(label), Some(&index.to_string()));
        labels.push(text);
    }

    // Left to right: a workflow reads along the page, and the boxes of one rank (the resources a
    // state uses, the subnets of a VPC) stack down it, which keeps the picture near a screen's
    // shape. A group's border runs through dummy nodes kept `edgesep` from their neighbours and
    // `(edgesep + nodesep) / 2` from the first box inside, which leaves room for its title.
    let options = LayoutOptions {
        rankdir: RankDir::LR,
        nodesep: 40.0,
        edgesep: 24.0,
        ranksep: 44.0,
        marginx: 16.0,
        marginy: 16.0,
        rank_align: RankAlign::Top,
        ..LayoutOptions::default()
    };
    dagre::layout(&mut graph, Some(options));

    let placed = |id: &str, what: &'static str| -> Result<Rect, LayoutError> {
        let label = graph.node(id).ok_or_else(|| LayoutError::Unplaced { what, id: id.to_owned() })?;
        match (label.x, label.y) {
            (Some(x), Some(y)) => Ok(Rect {
                x: x - label.width / 2.0,
                y: y - label.height / 2.0,
                width: label.width,
                height: label.height,
            }),
            _ => Err(LayoutError::Unplaced { what, id: id.to_owned() }),
        }
    };

    let mut nodes = HashMap::new();
    for node in &diagram.nodes {
        let rect = placed(&node.id, "the box")?;
        let (title, lines) = boxes.remove(&node.id).unwrap_or_default();
        nodes.insert(node.id.clone(), NodeBox { rect, title, lines });
    }
    let mut groups = HashMap::new();
    for group in &diagram.groups {
        let rect = placed(&group.id, "the group")?;
        groups.insert(group.id.clone(), GroupBox { rect, title: group.title.clone() });
    }
    let mut edges = Vec::new();
    for (index, (edge, text)) in diagram.edges.iter().zip(labels).enumerate() {
        let name = index.to_string();
        let label = graph.edge(&edge.from, &edge.to, Some(&name));
        let points = label.map(|l| l.points.iter().map(|p| (p.x, p.y)).collect()).unwrap_or_default();
        let label = match (text, label.and_then(|l| l.x.zip(l.y)), label) {
            (Some(text), Some((x, y)), Some(l)) => {
                Some((Rect { x: x - l.width / 2.0, y: y - l.height / 2.0, width: l.width, height: l.height }, text))
            }
            _ => None,
        };
        edges.push(EdgePath { points, label });
    }
    let columns = Columns::of(
        nodes.values().map(|n| n.rect).chain(edges.iter().filter_map(|e| e.label.as_ref().map(|(r, _)| *r))),
    );
    // dagre's routes are kept where they pass no box; one that crosses a box is straightened.
    let obstacles: Vec<(&str, Rect)> = nodes.iter().map(|(id, n)| (id.as_str(), n.rect)).collect();
    for (edge, path) in diagram.edges.iter().zip(edges.iter_mut()) {
        if let (Some(from), Some(to)) = (nodes.get(&edge.from), nodes.get(&edge.to)) {
            let others = obstacles.iter().filter(|(id, _)| *id != edge.from && *id != edge.to).map(|(_, r)| r);
            if crosses_any(&path.points, others) {
                path.points = columns.route(&path.points, &from.rect, &to.rect);
            }
        }
    }

    // The extent of everything drawn, groups' title room included.
    let mut width: f64 = 0.0;
    let mut height: f64 = 0.0;
    let rects = nodes.values().map(|n| n.rect).chain(groups.values().map(|g| g.rect));
    let label_rects = edges.iter().filter_map(|e| e.label.as_ref().map(|(r, _)| *r));
    for rect in rects.chain(label_rects) {
        width = width.max(rect.x + rect.width);
        height = height.max(rect.y + rect.height);
    }
    for point in edges.iter().flat_map(|e| e.points.iter()) {
        width = width.max(point.0);
        height = height.max(point.1);
    }
    Ok(Layout { width: width + 16.0, height: height + 16.0, nodes, groups, edges })
}

/// True when the polyline through `points` passes through the inside of any of `rects`.
fn crosses_any<'r>(points: &[(f64, f64)], mut rects: impl Iterator<Item = &'r Rect>) -> bool {
    rects.any(|rect| points.windows(2).any(|pair| segment_crosses(pair[0], pair[1], rect)))
}

/// Liang–Barsky clipping of the segment `a`–`b` against `rect` shrunk by a pixel, so that a
/// route touching a box's edge does not count.
fn segment_crosses(a: (f64, f64), b: (f64, f64), rect: &Rect) -> bool {
    let (x0, y0, x1, y1) = (rect.x + 1.0, rect.y + 1.0, rect.x + rect.width - 1.0, rect.y + rect.height - 1.0);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [(-dx, a.0 - x0), (dx, x1 - a.0), (-dy, a.1 - y0), (dy, y1 - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

/// How far a straightened route runs level out of a box and into one.
const LEAD: f64 = 10.0;

/// The ranks as columns of the page: boxes of one rank share their left edge (ranks are aligned
/// at their start), so a column runs from that edge to the right edge of its widest box.
struct Columns(Vec<(f64, f64)>);

impl Columns {
    fn of(rects: impl Iterator<Item = Rect>) -> Self {
        let mut columns: Vec<(f64, f64)> = Vec::new();
        for rect in rects {
            match columns.iter_mut().find(|(left, _)| (left - rect.x).abs() < 0.5) {
                Some(column) => column.1 = column.1.max(rect.x + rect.width),
                None => columns.push((rect.x, rect.x + rect.width)),
            }
        }
        Columns(columns)
    }

    fn at(&self, x: f64) -> Option<(f64, f64)> {
        self.0.iter().copied().find(|(left, right)| x >= left - 0.5 && x <= right + 0.5)
    }

    /// dagre's route with its crossings of columns made straight. dagre places one bend point per
    /// rank, between that rank's boxes, but a segment to the next bend point cuts across the rest
    /// of the column, where a wider box may stand; and it aims the ends at the boxes' centres, so
    /// an arrow to a box low in a column can cross the boxes above it. Here the route crosses each
    /// column level at its bend point, leaves and enters boxes sideways at the height it comes
    /// from, and runs diagonally only between columns, where no box is.
    fn route(&self, points: &[(f64, f64)], from: &Rect, to: &Rect) -> Vec<(f64, f64)> {
        let [first, inner @ .., last] = points else { return points.to_vec() };
        let side = |rect: &Rect, y: f64| {
            y.clamp(rect.y + 4.0_f64.min(rect.height / 2.0), rect.y + rect.height - 4.0_f64.min(rect.height / 2.0))
        };
        let mut out = Vec::with_capacity(points.len() * 2 + 2);
        let next = inner.first().copied().unwrap_or(*last);
        if next.0 > from.x + from.width {
            let y = side(from, next.1);
            out.push((from.x + from.width, y));
            let right = self.at(from.x).map_or(from.x + from.width, |(_, right)| right.max(from.x + from.width));
            if next.0 > right + 2.0 * LEAD {
                out.push((right + LEAD, y));
            }
        } else if next.0 < from.x {
            out.push((from.x, side(from, next.1)));
        } else {
            out.push(*first);
        }
        for point in inner {
            match self.at(point.0) {
                Some((left, right)) => {
                    let rightwards = out.last().is_none_or(|previous| previous.0 <= point.0);
                    let (a, b) = if rightwards { (left, right) } else { (right, left) };
                    out.push((a, point.1));
                    out.push((b, point.1));
                }
                None => out.push(*point),
            }
        }
        let previous = out.last().copied().unwrap_or(*first);
        if previous.0 < to.x {
            // A short level run into the box, so the arrowhead points into it.
            let y = side(to, previous.1);
            if previous.0 < to.x - 2.0 * LEAD {
                out.push((to.x - LEAD, y));
            }
            out.push((to.x, y));
        } else if previous.0 > to.x + to.width {
            let y = side(to, previous.1);
            if let Some((_, right)) = self.at(to.x).filter(|(_, right)| *right > to.x + to.width) {
                out.push((right, y));
            }
            out.push((to.x + to.width, y));
        } else {
            out.push(*last);
        }
        out.dedup_by(|a, b| (a.0 - b.0).abs() < 0.01 && (a.1 - b.1).abs() < 0.01);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::model::EdgeKind;

    #[test]
    fn wrap_breaks_at_separators_and_keeps_every_character() {
        let uri = "placeholder.invalid/servicefull:replace-with-provisioner-push-output";
        let lines = wrap(uri, 28);
        assert!(lines.iter().all(|l| l.chars().count() <= 28), "{lines:?}");
        assert_eq!(lines.concat(), uri);
        assert_eq!(wrap("short", 28), vec!["short"]);
        assert_eq!(wrap("", 28), vec![""]);
        let words = wrap("Catch States.TaskFailed, States.Timeout", 20);
        assert!(words.iter().all(|l| l.chars().count() <= 20 && !l.starts_with(' ')), "{words:?}");
        let unbroken = "x".repeat(70);
        assert_eq!(wrap(&unbroken, 28).concat(), unbroken);
    }

    #[test]
    fn boxes_grouped_boxes_and_labels_do_not_overlap() {
        let mut d = Diagram::default();
        let outer = d.add_group(None, "workflow", "outer", Vec::new());
        let inner = d.add_group(Some(&outer), "branch", "inner", Vec::new());
        let a = d.add_node(Some(&outer), NodeKind::State, "task", "A", vec!["Task".into()], Vec::new());
        let b = d.add_node(Some(&inner), NodeKind::State, "pass", "B", vec!["Pass".into()], Vec::new());
        let c = d.add_node(Some(&inner), NodeKind::State, "pass", "C", vec!["Pass".into()], Vec::new());
        let r = d.add_node(None, NodeKind::Resource, "sns", "Topic", vec!["AWS::SNS::Topic".into()], Vec::new());
        d.add_edge(&a, &b, EdgeKind::Next, None, Vec::new());
        d.add_edge(&b, &c, EdgeKind::Next, Some("a long label that must wrap somewhere".into()), Vec::new());
        d.add_edge(&c, &a, EdgeKind::Catch, Some("Catch States.ALL".into()), Vec::new());
        d.add_edge(&a, &r, EdgeKind::Uses, Some("TopicArn".into()), Vec::new());
        let layout = layout(&d).unwrap();

        let mut rects: Vec<(String, Rect)> = layout.nodes.iter().map(|(id, n)| (id.clone(), n.rect)).collect();
        for (i, edge) in layout.edges.iter().enumerate() {
            assert!(edge.points.len() >= 2, "edge {i} has no route");
            if let Some((rect, _)) = &edge.label {
                rects.push((format!("label {i}"), *rect));
            }
        }
        for (i, (a_id, a)) in rects.iter().enumerate() {
            for (b_id, b) in &rects[i + 1..] {
                let apart =
                    a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
                assert!(apart, "{a_id} {a:?} overlaps {b_id} {b:?}");
            }
        }
        let inside = |outer: &Rect, inner: &Rect| {
            inner.x >= outer.x
                && inner.y >= outer.y
                && inner.x + inner.width <= outer.x + outer.width
                && inner.y + inner.height <= outer.y + outer.height
        };
        let inner_rect = layout.groups[&inner].rect;
        let outer_rect = layout.groups[&outer].rect;
        assert!(inside(&outer_rect, &inner_rect), "{outer_rect:?} does not hold {inner_rect:?}");
        assert!(inside(&inner_rect, &layout.nodes[&b].rect));
        assert!(inside(&outer_rect, &layout.nodes[&a].rect));
        assert!(!inside(&outer_rect, &layout.nodes[&r].rect));
        for rect in layout.nodes.values().map(|n| n.rect) {
            assert!(rect.x >= 0.0 && rect.y >= 0.0);
            assert!(rect.x + rect.width <= layout.width && rect.y + rect.height <= layout.height);
        }
    }

    #[test]
    fn a_segment_crosses_a_box_only_through_its_inside() {
        let rect = Rect { x: 10.0, y: 10.0, width: 20.0, height: 10.0 };
        assert!(segment_crosses((0.0, 15.0), (40.0, 15.0), &rect));
        assert!(segment_crosses((15.0, 0.0), (25.0, 30.0), &rect));
        assert!(!segment_crosses((0.0, 0.0), (40.0, 5.0), &rect));
        assert!(!segment_crosses((0.0, 10.0), (40.0, 10.0), &rect), "along its edge");
        assert!(!segment_crosses((0.0, 15.0), (10.0, 15.0), &rect), "ending on its edge");
    }

    #[test]
    fn an_arrow_to_a_group_is_refused_not_drawn() {
        let mut d = Diagram::default();
        let group = d.add_group(None, "workflow", "g", Vec::new());
        let a = d.add_node(Some(&group), NodeKind::State, "task", "A", Vec::new(), Vec::new());
        d.add_edge(&a, &group, EdgeKind::Next, None, Vec::new());
        assert!(matches!(layout(&d), Err(LayoutError::DanglingEdge { .. })));
    }
}
