//! Shared by the adapters' property suites (included with `#[path]`, not a crate): arbitrary
//! JSON documents biased towards a provider's own field names and values, and mutations of a
//! valid document (a field removed, nulled, replaced, retyped or wrapped in an array).

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// An object key: mostly the provider's `fields`, sometimes anything.
pub fn json_key(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(fields).prop_map(str::to_string),
        1 => "[a-z_]{0,8}",
    ]
}

/// A scalar: any type, with the provider's `words` among the strings.
pub fn json_leaf(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        prop::sample::select(words).prop_map(Value::from),
    ]
}

/// A document up to 4 levels deep.
pub fn arb_json(
    fields: &'static [&'static str],
    words: &'static [&'static str],
) -> impl Strategy<Value = Value> {
    json_leaf(words).prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(json_key(fields), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to one node of a document.
#[derive(Debug, Clone)]
pub enum Mutation {
    Remove,
    Null,
    Replace(Value),
    /// A number or boolean becomes its text; a string becomes a number.
    Retype,
    WrapInArray,
}

fn mutation(words: &'static [&'static str]) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Remove),
        Just(Mutation::Null),
        json_leaf(words).prop_map(Mutation::Replace),
        Just(Mutation::Retype),
        Just(Mutation::WrapInArray),
    ]
}

/// One to three mutations, each at a node picked among the document's nodes.
pub fn mutations(words: &'static [&'static str]) -> impl Strategy<Value = Vec<(Index, Mutation)>> {
    prop::collection::vec((any::<Index>(), mutation(words)), 1..4)
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    At(usize),
}

fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(Seg::Key(k.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(Seg::At(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::At(i) => v.get_mut(*i),
    })
}

/// Applies `changes` to `doc`.
pub fn mutate(doc: &mut Value, changes: &[(Index, Mutation)]) {
    for (at, m) in changes {
        let mut all = Vec::new();
        paths(doc, &mut Vec::new(), &mut all);
        if all.is_empty() {
            return;
        }
        let path = all[at.index(all.len())].clone();
        let Some((last, parent_path)) = path.split_last() else {
            continue;
        };
        let Some(parent) = node_mut(doc, parent_path) else {
            continue;
        };
        if let Mutation::Remove = m {
            match (parent, last) {
                (Value::Object(o), Seg::Key(k)) => {
                    o.remove(k);
                }
                (Value::Array(a), Seg::At(i)) => {
                    a.remove(*i);
                }
                _ => {}
            }
            continue;
        }
        let Some(node) = node_mut(parent, std::slice::from_ref(last)) else {
            continue;
        };
        *node = match (m, node.take()) {
            (Mutation::Null, _) => Value::Null,
            (Mutation::Replace(v), _) => v.clone(),
            (Mutation::Retype, Value::Number(n)) => Value::String(n.to_string()),
            (Mutation::Retype, Value::Bool(b)) => Value::String(b.to_string()),
            (Mutation::Retype, Value::String(s)) => Value::from(s.len()),
            (Mutation::Retype, other) => Value::String(other.to_string()),
            (Mutation::WrapInArray, old) => Value::Array(vec![old]),
            (Mutation::Remove, old) => old,
        };
    }
}
