//! The layers hold: read from the source, which top-level modules each module imports, and
//! check that imports only point inwards (the edge and the workers to the operations, the
//! operations to storage and the domain, the domain to nothing of theirs), that the HTTP edge
//! and the workers never import each other, and that no two modules import each other,
//! however indirectly. docs/architecture.md describes the same layers.

use std::collections::{BTreeMap, BTreeSet};

/// Each top-level module's layer; a module may import only from its own layer or below
/// (and `http` and `jobs`, both on the edge, not from each other).
const LAYERS: &[(&str, u8)] = &[
    ("ids", 0),
    ("time", 0),
    ("duration", 0),
    ("text", 0),
    ("stored", 0),
    ("validate", 0),
    ("codes", 0),
    ("patch", 0),
    ("rules", 0),
    ("net", 0),
    ("clock", 0),
    ("events", 0),
    ("audit", 0),
    ("campaigns", 0),
    ("contacts", 0),
    ("dispatch", 0),
    ("floor", 0),
    ("stats", 0),
    ("people", 0),
    ("segments", 0),
    ("catalog", 0),
    ("config", 0),
    ("telemetry", 0),
    ("webhooks", 0),
    ("store", 1),
    ("service", 2),
    ("http", 3),
    ("jobs", 3),
    ("app", 4),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The first path segment of every `crate::…` path in `source`, including each item of a
/// `use crate::{a::b, c}` group.
fn imports(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 7..];
        if before == Some('$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            let mut first = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !item.is_empty() {
                            out.insert(std::mem::take(&mut item));
                        }
                        first = true;
                    }
                    c if first && (c.is_alphanumeric() || c == '_') => item.push(c),
                    _ if first && !item.is_empty() => {
                        out.insert(std::mem::take(&mut item));
                        first = false;
                    }
                    _ => {}
                }
            }
            if !item.is_empty() {
                out.insert(item);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// The source without its `#[cfg(test)]` items (a `mod x;` line or a braced block): tests may
/// reach anywhere, only the code itself must keep the layers, and code after a test item
/// counts as much as code before it.
fn without_tests(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let semicolon = rest.find(';').unwrap_or(rest.len());
        let Some(open) = rest.find('{').filter(|open| *open < semicolon) else {
            rest = &rest[(semicolon + 1).min(rest.len())..];
            continue;
        };
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Top-level module → the top-level modules it imports, from every file under `src/`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix("src").unwrap();
            let top = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            // lib.rs's test-only modules are tests through and through.
            if matches!(
                top.as_str(),
                "main" | "lib" | "layers" | "parsing_properties"
            ) {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let deps = graph.entry(top.clone()).or_default();
            deps.extend(
                imports(&without_tests(&source))
                    .into_iter()
                    .filter(|m| *m != top && layer(m).is_some()),
            );
        }
    }
    graph
}

#[test]
fn imports_point_inwards_and_the_edge_and_the_workers_never_meet() {
    let graph = graph();
    for (module, deps) in &graph {
        let own = layer(module).unwrap_or_else(|| panic!("{module} has no layer in LAYERS"));
        for dep in deps {
            let theirs = layer(dep).unwrap();
            assert!(
                theirs < own || (theirs == own && own == 0),
                "{module} (layer {own}) imports {dep} (layer {theirs})"
            );
        }
    }
}

#[test]
fn no_module_imports_itself_through_others() {
    let graph = graph();
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = graph[start].iter().collect();
        while let Some(m) = stack.pop() {
            assert!(m != start, "{start} reaches itself through its imports");
            if seen.insert(m.clone()) {
                stack.extend(graph.get(m).into_iter().flatten());
            }
        }
    }
}

#[test]
fn code_after_a_test_item_is_read_and_the_test_items_are_not() {
    let source = "use crate::a;\n#[cfg(test)]\nmod props;\nuse crate::b;\n#[cfg(test)]\nmod tests {\n    use crate::c;\n    fn f() { if x { crate::d(); } }\n}\nfn g() { crate::e::h(); }\n";
    let found = imports(&without_tests(source));
    let want: BTreeSet<String> = ["a", "b", "e"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, want);
}

#[test]
fn the_import_reader_sees_grouped_and_plain_paths() {
    let found = imports("use crate::{a::b, c,\n d::{e, f}};\nlet x = crate::g::h(); $crate::z!");
    let want: BTreeSet<String> = ["a", "c", "d", "g"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, want);
}
