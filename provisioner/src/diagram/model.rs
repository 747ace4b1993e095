//! The picture as a graph, before any geometry: boxes (states, resources, Start and End), the
//! groups that nest them (the state machine, Parallel branches, Map processors, the network, one
//! AWS service), and the arrows between boxes. Each element carries `data-*` attributes naming
//! what it stands for (a state name, a logical ID), so a reader of the SVG, a test included, can
//! tell which element is which without parsing labels.

/// What a box stands for; also its CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Where an execution starts.
    Start,
    /// Where an execution ends.
    End,
    /// A state of the workflow (for Parallel and Map: the state's entry).
    State,
    /// Where the branches of a Parallel (or the items of a Map) come together again.
    Join,
    /// A resource of the stack.
    Resource,
}

impl NodeKind {
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Start => "start",
            NodeKind::End => "end",
            NodeKind::State => "state",
            NodeKind::Join => "join",
            NodeKind::Resource => "resource",
        }
    }
}

/// What an arrow stands for; also its CSS class and the `data-kind` the SVG carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// From Start to the machine's `StartAt`.
    Start,
    /// A state's `Next`.
    Next,
    /// One rule of a Choice state.
    Choice,
    /// A Choice state's `Default`.
    Default,
    /// A catcher: on these errors, go there.
    Catch,
    /// From a Parallel or Map state into a branch or the item processor (its `StartAt`).
    Branch,
    /// From a state that ends (End, Succeed, Fail) to End, or to the join of its Parallel or Map.
    End,
    /// A state refers to a resource in its request (`Parameters`, `Resource`, ...).
    Uses,
    /// A resource refers to another in its properties (`Ref`, `Fn::GetAtt`, `Fn::Sub`).
    Reference,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 9] = [
        EdgeKind::Start,
        EdgeKind::Next,
        EdgeKind::Choice,
        EdgeKind::Default,
        EdgeKind::Catch,
        EdgeKind::Branch,
        EdgeKind::End,
        EdgeKind::Uses,
        EdgeKind::Reference,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Start => "start",
            EdgeKind::Next => "next",
            EdgeKind::Choice => "choice",
            EdgeKind::Default => "default",
            EdgeKind::Catch => "catch",
            EdgeKind::Branch => "branch",
            EdgeKind::End => "end",
            EdgeKind::Uses => "uses",
            EdgeKind::Reference => "reference",
        }
    }

    pub fn from_name(name: &str) -> Option<EdgeKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// What the legend says about this kind of arrow.
    pub fn meaning(self) -> &'static str {
        match self {
            EdgeKind::Start => "the execution starts here",
            EdgeKind::Next => "Next",
            EdgeKind::Choice => "a Choice rule (its condition)",
            EdgeKind::Default => "a Choice's Default",
            EdgeKind::Catch => "Catch (its ErrorEquals)",
            EdgeKind::Branch => "into a Parallel branch or a Map's item processor",
            EdgeKind::End => "the state ends the execution (or its branch)",
            EdgeKind::Uses => "the state's request names this resource (the field)",
            EdgeKind::Reference => "the resource refers to another (the property)",
        }
    }
}

/// A box: a title line, then detail lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub group: Option<String>,
    pub kind: NodeKind,
    /// An extra CSS class: the state type (`task`, `choice`...) or the resource's service (`ec2`...).
    pub class: String,
    pub title: String,
    pub lines: Vec<String>,
    /// `data-*` attributes: (name without the prefix, value).
    pub data: Vec<(&'static str, String)>,
}

/// A box drawn around other boxes and groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub parent: Option<String>,
    pub class: String,
    pub title: String,
    pub data: Vec<(&'static str, String)>,
}

/// An arrow between two boxes (never a group: the layout routes arrows between boxes only).
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub label: Option<String>,
    pub data: Vec<(&'static str, String)>,
    /// The least number of ranks (columns) between the two boxes; 1 for neighbours.
    pub min_ranks: u32,
}

/// The whole picture. Ids are made here, so they are unique whatever the names in the template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagram {
    pub nodes: Vec<Node>,
    pub groups: Vec<Group>,
    pub edges: Vec<Edge>,
}

impl Diagram {
    /// Adds a box and returns its id.
    pub fn add_node(
        &mut self,
        group: Option<&str>,
        kind: NodeKind,
        class: impl Into<String>,
        title: impl Into<String>,
        lines: Vec<String>,
        data: Vec<(&'static str, String)>,
    ) -> String {
        let id = format!("n{}", self.nodes.len());
        self.nodes.push(Node {
            id: id.clone(),
            group: group.map(str::to_owned),
            kind,
            class: class.into(),
            title: title.into(),
            lines,
            data,
        });
        id
    }

    /// Adds a group and returns its id.
    pub fn add_group(
        &mut self,
        parent: Option<&str>,
        class: impl Into<String>,
        title: impl Into<String>,
        data: Vec<(&'static str, String)>,
    ) -> String {
        let id = format!("g{}", self.groups.len());
        self.groups.push(Group {
            id: id.clone(),
            parent: parent.map(str::to_owned),
            class: class.into(),
            title: title.into(),
            data,
        });
        id
    }

    /// Adds an arrow and returns it, to set what `add_edge` leaves at its default.
    pub fn add_edge(
        &mut self,
        from: &str,
        to: &str,
        kind: EdgeKind,
        label: Option<String>,
        data: Vec<(&'static str, String)>,
    ) -> &mut Edge {
        self.edges.push(Edge { from: from.to_owned(), to: to.to_owned(), kind, label, data, min_ranks: 1 });
        let last = self.edges.len() - 1;
        &mut self.edges[last]
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// Drops groups that hold nothing (the layout cannot place an empty group).
    pub fn prune_empty_groups(&mut self) {
        loop {
            let used: std::collections::HashSet<&str> = self
                .nodes
                .iter()
                .filter_map(|n| n.group.as_deref())
                .chain(self.groups.iter().filter_map(|g| g.parent.as_deref()))
                .collect();
            let empty: Vec<String> =
                self.groups.iter().filter(|g| !used.contains(g.id.as_str())).map(|g| g.id.clone()).collect();
            if empty.is_empty() {
                return;
            }
            self.groups.retain(|g| !empty.contains(&g.id));
        }
    }
}
