//! The built-in rules, compiled into the binary from `rules/`.
//!
//! A test checks that this list matches the files in `rules/`, so a new rule file cannot be
//! forgotten here.

/// `(path, source)` of every built-in rule.
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    (
        "rules/access/expected-access-denied.rhai",
        include_str!("../../rules/access/expected-access-denied.rhai"),
    ),
    (
        "rules/admin/can-grant-roles-everywhere.rhai",
        include_str!("../../rules/admin/can-grant-roles-everywhere.rhai"),
    ),
    (
        "rules/mfa/mfa-not-required.rhai",
        include_str!("../../rules/mfa/mfa-not-required.rhai"),
    ),
    (
        "rules/mfa/service-account-user-with-mfa.rhai",
        include_str!("../../rules/mfa/service-account-user-with-mfa.rhai"),
    ),
    (
        "rules/network/no-ip-allowlist.rhai",
        include_str!("../../rules/network/no-ip-allowlist.rhai"),
    ),
    (
        "rules/network/required-cidr-not-allowlisted.rhai",
        include_str!("../../rules/network/required-cidr-not-allowlisted.rhai"),
    ),
    (
        "rules/oauth/client-admin-wildcard-all-divisions.rhai",
        include_str!("../../rules/oauth/client-admin-wildcard-all-divisions.rhai"),
    ),
    (
        "rules/oauth/inactive-client-holding-roles.rhai",
        include_str!("../../rules/oauth/inactive-client-holding-roles.rhai"),
    ),
    (
        "rules/oauth/password-grant-client.rhai",
        include_str!("../../rules/oauth/password-grant-client.rhai"),
    ),
    (
        "rules/policy/deny-policy-blocks-client.rhai",
        include_str!("../../rules/policy/deny-policy-blocks-client.rhai"),
    ),
    (
        "rules/roles/role-granted-to-no-one.rhai",
        include_str!("../../rules/roles/role-granted-to-no-one.rhai"),
    ),
    (
        "rules/users/inactive-user-holding-roles.rhai",
        include_str!("../../rules/users/inactive-user-holding-roles.rhai"),
    ),
    (
        "rules/wfm/wfm-client-division-gap.rhai",
        include_str!("../../rules/wfm/wfm-client-division-gap.rhai"),
    ),
];
