//! The swagger parser against an independent catalog of the same API description, and the
//! built-in catalog against the parser. Both inputs are compressed copies in `tests/fixtures/`
//! (`swagger.json.gz`, `operations.json.gz`), so a lone clone of the repository runs these.

use rolecall::internals::catalog::{parse_swagger, Catalog};
use rolecall::internals::model::{Operation, Permission};

/// A gzip-compressed fixture, decompressed.
pub fn gz_fixture(name: &str) -> Vec<u8> {
    let raw = std::fs::read(crate::support::fixture(name))
        .unwrap_or_else(|e| panic!("tests/fixtures/{name}: {e}"));
    rolecall::internals::catalog::gunzip(&raw).unwrap()
}

/// The full API description's operations, parsed once per test binary.
pub fn full_api() -> &'static [Operation] {
    static OPS: std::sync::OnceLock<Vec<Operation>> = std::sync::OnceLock::new();
    OPS.get_or_init(|| parse_swagger(&gz_fixture("swagger.json.gz")).unwrap())
}

#[test]
fn swagger_parser_agrees_with_the_operations_oracle() {
    let ops = full_api();
    let oracle: Vec<serde_json::Value> =
        serde_json::from_slice(&gz_fixture("operations.json.gz")).unwrap();
    let oracle: Vec<&serde_json::Value> =
        oracle.iter().filter(|o| o["source"] == "swagger").collect();
    assert_eq!(ops.len(), oracle.len());
    let mut with_permissions = 0;
    for (ours, theirs) in ops.iter().zip(&oracle) {
        let at = format!("{} {}", theirs["method"], theirs["path"]);
        assert_eq!(ours.method, theirs["method"], "{at}");
        assert_eq!(ours.path, theirs["path"], "{at}");
        assert_eq!(ours.operation_id, theirs["operationId"], "{at}");
        let scopes: Vec<&str> = theirs["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(ours.scopes, scopes, "{at}");
        let codes: Vec<&str> = theirs["errorCodes403"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(ours.error_codes_403, codes, "{at}");
        match (&ours.permissions, theirs["permissions"].as_object()) {
            (None, None) => {}
            (Some(r), Some(p)) => {
                with_permissions += 1;
                assert_eq!(r.kind, p["type"].as_str().unwrap(), "{at}");
                // The oracle keeps the list verbatim; the catalog drops non-permissions such as
                // `admin` and duplicates (API-FACTS §1.1), so compare after doing the same.
                let mut expected: Vec<&str> = Vec::new();
                for x in p["list"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                {
                    if Permission::parse(x).is_some() && !expected.contains(&x) {
                        expected.push(x);
                    }
                }
                assert_eq!(r.list, expected, "{at}");
            }
            (a, b) => panic!("{at}: requirement {a:?} vs {b:?}"),
        }
    }
    eprintln!("swagger parser agrees with operations.json on {} operations ({with_permissions} with permissions)", ops.len());
    assert_eq!(ops.len(), 3180);
    assert_eq!(with_permissions, 2809);
    let catalog = Catalog::new(ops);
    let m = catalog
        .find("POST /api/v2/workforcemanagement/agents")
        .unwrap();
    assert_eq!(
        m.operation.permissions.as_ref().unwrap().list,
        ["wfm:agent:edit"]
    );
    assert!(m
        .operation
        .error_codes_403
        .iter()
        .any(|c| c == "wfm.permission.failure"));
}

/// The catalog compiled into rolecall is exactly the parsed API description. Regenerate it after
/// replacing the fixture with `ROLECALL_BLESS=YYYY-MM-DD cargo test --test it catalog::builtin`,
/// giving the date of the new API description (its age is reported from it).
#[test]
fn builtin_catalog_is_the_parsed_api_description() {
    let ops = full_api();
    let path = crate::support::root().join("data/operations.json.gz");
    if let Ok(date) = std::env::var("ROLECALL_BLESS") {
        assert!(
            rolecall::internals::engine::valid_date(&date),
            "ROLECALL_BLESS must be the API description's date, YYYY-MM-DD"
        );
        let fresh = rolecall::internals::catalog::BuiltinCatalog {
            format: rolecall::internals::catalog::FORMAT.to_owned(),
            source: format!("the public Genesys Cloud Platform API description (Swagger 2.0), last changed {date}"),
            date,
            operations: ops.to_vec(),
        };
        std::fs::write(&path, rolecall::internals::catalog::encode(&fresh).unwrap()).unwrap();
    }
    let committed = rolecall::internals::catalog::decode(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(committed.operations.len(), ops.len());
    for (a, b) in committed.operations.iter().zip(ops) {
        assert_eq!(a, b, "{} {}", b.method, b.path);
    }
    // Reduced and compressed: far smaller than the description itself.
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 200 << 10, "data/operations.json.gz is {size} bytes");
}

#[test]
fn the_fetch_plans_permission_table_matches_the_api_description() {
    let catalog = Catalog::new(full_api());
    for (path, perms) in rolecall::internals::fetch::plan::ENDPOINTS {
        let m = catalog
            .find(&format!("GET {path}"))
            .unwrap_or_else(|| panic!("`GET {path}` is not in swagger.json"));
        assert_eq!(m.operation.path, *path);
        let described: Vec<&str> = m
            .operation
            .permissions
            .as_ref()
            .map(|r| r.list.iter().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(described, *perms, "permissions of `GET {path}`");
    }
}

/// A snapshot without a catalog of its own (hand-written, or a fetch that could not read the API
/// description) is explained from the built-in catalog, and the output says so and how old it is.
#[test]
fn explain_and_acc001_work_on_a_snapshot_without_a_catalog() {
    let mut snap = rolecall::internals::model::sample().unwrap();
    snap.operations.clear();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bare.json");
    rolecall::internals::model::save_snapshot(&snap, &file).unwrap();
    let out = crate::support::rolecall()
        .args(["explain", "--snapshot", file.to_str().unwrap()])
        .args([
            "--as",
            "client:wfm-sync",
            "--target",
            "management-unit:EU Agents",
        ])
        .args(["--op", "POST /api/v2/workforcemanagement/agents"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("catalog: rolecall's built-in catalog (API description of "),
        "{text}"
    );
    assert!(
        text.contains("the snapshot has no catalog of its own"),
        "{text}"
    );
    assert!(text.contains("days old; 3180 operations"), "{text}");
    assert!(
        text.contains("verdict: DENIED: 403 `missing.any.division.permissions`"),
        "{text}"
    );

    let expectations = serde_json::json!({"expectations": [
        {"subject": "client:wfm-sync", "op": "POST /api/v2/workforcemanagement/agents", "target": "management-unit:EU Agents"},
    ]});
    let f = crate::support::run_rule("ACC001", snap, Some(expectations));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("missing.any.division.permissions"));
}

/// `--catalog` wins over the snapshot's own catalog and is named in the output.
#[test]
fn a_catalog_file_wins_and_is_named() {
    let file = crate::support::fixture("swagger.json.gz");
    let out = crate::support::rolecall()
        .args(["explain", "--catalog", file.to_str().unwrap()])
        .args(["--as", "client:wfm-sync", "--op", "GET /api/v2/users"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("catalog: catalog file `") && text.contains("(3180 operations)"),
        "{text}"
    );
    // Without it the sample's own 7 operations lack `getUsers`: the built-in answers, and says why.
    let out = crate::support::rolecall()
        .args([
            "explain",
            "--as",
            "client:wfm-sync",
            "--op",
            "GET /api/v2/users",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the snapshot's own catalog (7 operations) does not list this operation"),
        "{text}"
    );
}
