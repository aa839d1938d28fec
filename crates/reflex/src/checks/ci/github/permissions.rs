//! `ci-permissions-missing` and `ci-permissions-broad`: the token permissions a workflow and
//! its jobs grant.

use super::super::yaml::{Node, Value};
use super::super::{FileCtx, NAME, PERMISSIONS_BROAD, PERMISSIONS_MISSING, Sink};
use crate::finding::{Finding, Severity};

pub(super) fn permissions(f: &FileCtx<'_>, doc: &Node, jobs: &[(String, Node)], out: &mut Sink) {
    let top = doc.get("permissions");
    let broad = |node: &Node, scope: &str, out: &mut Sink| match &node.value {
        Value::Str(s) if s == "write-all" => out.push(
            Finding::new(
                NAME,
                &PERMISSIONS_BROAD,
                format!("{scope} grants `permissions: write-all`"),
            )
            .at(f.path.clone(), Some(node.line))
            .remedy("list only the scopes the job needs, e.g. `permissions: { contents: read }`"),
        ),
        _ => {}
    };
    match top {
        Some(node) => {
            broad(node, "the workflow", out);
            let writes: Vec<&str> = node
                .entries()
                .iter()
                .filter(|(_, v)| v.str() == Some("write"))
                .map(|(k, _)| k.as_str())
                .collect();
            if !writes.is_empty() {
                out.push(
                    Finding::new(NAME, &PERMISSIONS_BROAD, format!("the workflow grants write scopes to every job: {}", writes.join(", ")))
                        .severity(Severity::Low)
                        .at(f.path.clone(), Some(node.line))
                        .remedy("set `permissions: { contents: read }` at the top and grant writes only in the job that needs them"),
                );
            }
        }
        None => {
            let bare: Vec<&str> = jobs
                .iter()
                .filter(|(_, j)| j.get("permissions").is_none())
                .map(|(n, _)| n.as_str())
                .collect();
            if !bare.is_empty() {
                out.push(
                    Finding::new(
                        NAME,
                        &PERMISSIONS_MISSING,
                        format!("no `permissions` for jobs {}", bare.join(", ")),
                    )
                    .at(f.path.clone(), Some(1))
                    .remedy("add `permissions: { contents: read }` at the top of the workflow"),
                );
            }
        }
    }
    for (name, job) in jobs {
        if let Some(p) = job.get("permissions") {
            broad(p, &format!("job `{name}`"), out);
        }
    }
}
