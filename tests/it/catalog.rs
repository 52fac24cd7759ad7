//! The swagger parser against the independent catalog in `../shared/genesys/operations.json`.

use rolecall::catalog::{parse_swagger, Catalog};
use rolecall::model::Permission;

fn shared(name: &str) -> std::path::PathBuf {
    crate::support::root().join("../shared/genesys").join(name)
}

#[test]
fn swagger_parser_agrees_with_the_operations_oracle() {
    let Ok(bytes) = std::fs::read(shared("swagger.json")) else {
        // The shared folder sits beside the repository in CI and in development.
        panic!("../shared/genesys/swagger.json is missing");
    };
    let ops = parse_swagger(&bytes).unwrap();
    let oracle: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(shared("operations.json")).unwrap()).unwrap();
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
    let catalog = Catalog::new(&ops);
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

#[test]
fn the_fetch_plans_permission_table_matches_the_api_description() {
    let ops = parse_swagger(&std::fs::read(shared("swagger.json")).unwrap()).unwrap();
    let catalog = Catalog::new(&ops);
    for (path, perms) in rolecall::fetch::plan::ENDPOINTS {
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
