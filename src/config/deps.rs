//! Which data sources an expression reads, directly or through locals: the edges that make a
//! step wait for the data sources its configuration uses.

use super::{DataSource, Local};
use crate::eval::references;
use crate::syntax::{Body, Expr, Structure};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Data-source reads of bodies, with the locals' reads computed once each.
pub(super) struct DataDeps<'t> {
    locals: &'t BTreeMap<String, Local>,
    index: HashMap<(&'t str, &'t str), usize>,
    known: HashMap<String, BTreeSet<usize>>,
}

impl<'t> DataDeps<'t> {
    pub(super) fn new(data: &'t [DataSource], locals: &'t BTreeMap<String, Local>) -> Self {
        DataDeps {
            locals,
            index: data
                .iter()
                .enumerate()
                .map(|(i, d)| ((d.kind.as_str(), d.name.as_str()), i))
                .collect(),
            known: HashMap::new(),
        }
    }

    /// The data sources a body reads (indexes into the template's data sources).
    pub(super) fn of_body(&mut self, body: &Body) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        if !self.index.is_empty() {
            self.body_into(body, &mut out, &mut Vec::new());
        }
        out
    }

    fn body_into(&mut self, body: &Body, out: &mut BTreeSet<usize>, visiting: &mut Vec<String>) {
        for item in &body.items {
            match item {
                Structure::Attribute(a) => self.expr_into(&a.expr, out, visiting),
                Structure::Block(b) => self.body_into(&b.body, out, visiting),
            }
        }
    }

    fn expr_into(&mut self, expr: &Expr, out: &mut BTreeSet<usize>, visiting: &mut Vec<String>) {
        for r in references(expr) {
            match (r.root.as_str(), r.path.as_slice()) {
                ("data", [kind, name, ..]) => {
                    if let Some(i) = self.index.get(&(kind.as_str(), name.as_str())) {
                        out.insert(*i);
                    }
                }
                ("local", [name, ..]) => out.extend(self.of_local(name, visiting)),
                _ => {}
            }
        }
    }

    fn of_local(&mut self, name: &str, visiting: &mut Vec<String>) -> BTreeSet<usize> {
        if let Some(known) = self.known.get(name) {
            return known.clone();
        }
        // Loading rejects cycles; this guard only keeps a broken template from recursing forever.
        if visiting.iter().any(|v| v == name) {
            return BTreeSet::new();
        }
        let Some(local) = self.locals.get(name) else {
            return BTreeSet::new();
        };
        visiting.push(name.to_string());
        let mut out = BTreeSet::new();
        self.expr_into(&local.expr, &mut out, visiting);
        visiting.pop();
        self.known.insert(name.to_string(), out.clone());
        out
    }
}
