//! A picture of the service for people: the workflow's states and transitions and the stack's
//! resources, as one graph laid out with dagre (layered, with nested groups) and drawn as an SVG
//! in a self-contained HTML page. `model` is the graph, `service` reads it from a template (with
//! `workflow` for the state machines and `references` for the template's values), `layout` places
//! it, `svg` draws it.

pub mod layout;
pub mod model;
mod references;
pub mod service;
pub mod svg;
mod workflow;

pub use references::brief;
