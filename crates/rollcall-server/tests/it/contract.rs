//! The UI's generated TypeScript types match the Rust types: a renamed field, a new route
//! body or a removed type fails here, with the command that regenerates them.

use rollcall_server::local::contract;

#[test]
fn generated_typescript_is_current() {
    let fresh = tempfile::tempdir().unwrap();
    contract::write(fresh.path()).unwrap();
    let checked_in = contract::bindings_dir();

    let generated = contract::ts_files(fresh.path()).unwrap();
    let present = contract::ts_files(&checked_in).unwrap();
    let mut problems = Vec::new();
    for name in &generated {
        let want = std::fs::read_to_string(fresh.path().join(name)).unwrap();
        match std::fs::read_to_string(checked_in.join(name)) {
            Ok(have) if have == want => {}
            Ok(_) => problems.push(format!("{name} differs from the Rust types")),
            Err(_) => problems.push(format!("{name} is missing")),
        }
    }
    for name in present.iter().filter(|n| !generated.contains(n)) {
        problems.push(format!("{name} is no longer generated"));
    }
    assert!(
        problems.is_empty(),
        "The UI's TypeScript types in {} are out of date ({}). Regenerate them with `{}` and \
         commit the result.",
        contract::BINDINGS_DIR,
        problems.join("; "),
        contract::REGENERATE,
    );
}

#[test]
fn large_integers_are_plain_numbers() {
    // JSON carries i64 as a plain number; a `bigint` here would not match what fetch() gives.
    let change = std::fs::read_to_string(contract::bindings_dir().join("Change.ts")).unwrap();
    assert!(change.contains("seq: number"), "{change}");
    assert!(!change.contains("bigint"), "{change}");
}
