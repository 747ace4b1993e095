//! A picture of the service for people: the workflow's states and transitions and the stack's
//! resources, as one graph laid out with dagre (layered, with nested groups) and drawn as an SVG
//! in a self-contained HTML page. `model` is the graph, `service` reads it from a template,
//! `layout` places it, `svg` draws it.

pub mod layout;
pub mod model;
pub mod service;
pub mod svg;
