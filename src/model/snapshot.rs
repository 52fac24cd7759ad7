//! The `rolecall.snapshot/1` document: serde types that keep the Platform API's field names.
//!
//! These types are the on-disk contract. They hold data exactly as fetched (camelCase, string ids,
//! `*` for "all divisions") and do no indexing; [`crate::model::Org`] builds the lookups.
//! Unknown fields are ignored so that snapshots written by newer fetchers with extra data still load.

use serde::{Deserialize, Serialize};

/// The format tag this build reads and writes.
pub const FORMAT: &str = "rolecall.snapshot/1";

/// The datasets of a snapshot, by the field names that hold them: what coverage entries name
/// and what rules may list in `RULE.needs`.
pub const DATASETS: [&str; 15] = [
    "organization",
    "divisions",
    "roles",
    "users",
    "groups",
    "oauthClients",
    "grants",
    "accessPolicies",
    "authSettings",
    "businessUnits",
    "managementUnits",
    "managementUnitMembers",
    "permissionCatalog",
    "operations",
    "usage",
];

/// The division id Genesys uses for "all divisions" (including future ones).
pub const ALL_DIVISIONS: &str = "*";

/// One org's permission data at one point in time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrgSnapshot {
    /// Always [`FORMAT`] for this version.
    pub format: String,
    /// RFC 3339 time the data was read.
    #[serde(default)]
    pub fetched_at: Option<String>,
    /// Where the data came from.
    #[serde(default)]
    pub source: SnapshotSource,
    /// `GET /api/v2/organizations/me`.
    #[serde(default)]
    pub organization: Organization,
    /// `GET /api/v2/authorization/divisions`.
    #[serde(default)]
    pub divisions: Vec<Division>,
    /// `GET /api/v2/authorization/roles`.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// `GET /api/v2/users?state=any`.
    #[serde(default)]
    pub users: Vec<User>,
    /// `GET /api/v2/groups` with members of groups that hold roles.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// `GET /api/v2/oauth/clients`.
    #[serde(default)]
    pub oauth_clients: Vec<OAuthClient>,
    /// Role grants of users and groups (from `…/roles/{roleId}/subjectgrants`).
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// `GET /api/v2/authorization/policies`.
    #[serde(default)]
    pub access_policies: Vec<AccessPolicy>,
    /// `GET /api/v2/organizations/authentication/settings`.
    #[serde(default)]
    pub auth_settings: AuthSettings,
    /// `GET /api/v2/workforcemanagement/businessunits`.
    #[serde(default)]
    pub business_units: Vec<BusinessUnit>,
    /// `GET /api/v2/workforcemanagement/managementunits`.
    #[serde(default)]
    pub management_units: Vec<ManagementUnit>,
    /// `GET /api/v2/authorization/permissions`, flattened to one entry per permission.
    #[serde(default)]
    pub permission_catalog: Vec<CatalogPermission>,
    /// Operations from the API description: method + path → required permissions.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// API usage by client, user and operation (`rolecall fetch --usage DAYS`): absent when
    /// it was not read. Shared, so copies of a snapshot (a planned change's overlay) do not
    /// copy its rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<std::sync::Arc<super::usage::Usage>>,
    /// Per endpoint: read fully, or the status that stopped it.
    #[serde(default)]
    pub coverage: Vec<Coverage>,
    /// The last `rolecall verify` of this snapshot's model against the platform's own answers,
    /// when one was stored (`verify --save`). Absent in older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// The outcome of `rolecall verify`, kept in the snapshot it verified: rolecall's division sets
/// compared with `GET /api/v2/authorization/divisionspermitted/paged/…` for chosen pairs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// RFC 3339 time the platform was asked.
    pub verified_at: String,
    /// (subject, permission) pairs asked.
    pub pairs: usize,
    /// Pairs on which rolecall and the platform agreed.
    pub agreements: usize,
    /// Pairs on which they disagreed.
    pub disagreements: usize,
    /// Pairs the platform could not answer (a failed request, an answer cut short).
    #[serde(default)]
    pub unknown: usize,
    /// Distinct users asked about (the fetching client itself not included).
    #[serde(default)]
    pub users: usize,
    /// Distinct permissions asked about.
    #[serde(default)]
    pub permissions: usize,
}

/// Provenance of a snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotSource {
    /// `api`, `sample`, `fixture` or `synthetic`.
    #[serde(default)]
    pub kind: String,
    /// Region key or API host, for `api` sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The OAuth client id used to read the org (never its secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Free text, e.g. the generator's parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For `api` sources: the page size each paged family used, and the requests spent
    /// learning it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_sizes: Vec<PageSizeUse>,
}

/// The page size one family of paged endpoints used in a fetch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PageSizeUse {
    /// The family (`subjectgrants`, `users`, …).
    pub family: String,
    /// The size used.
    pub size: usize,
    /// Requests answered 400 for an oversized page while learning it.
    pub learning_requests: usize,
}

/// `Organization` (subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Org id.
    #[serde(default)]
    pub id: String,
    /// Org name.
    #[serde(default)]
    pub name: String,
    /// Short org name used in login URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Whether the org enforces OAuth scopes for user-context clients (an opt-in, off by
    /// default). No API exposes it, so a fetch leaves it unknown (`None`); set it by hand in the
    /// snapshot when you know it, and scope denials become certain (or are ruled out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_enforcement: Option<bool>,
}

/// `AuthzDivision`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Division {
    /// Division id.
    pub id: String,
    /// Division name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether this is the org's home division.
    #[serde(default)]
    pub home_division: bool,
}

/// `DomainOrganizationRole` (subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Role id.
    pub id: String,
    /// Role name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the role grants.
    #[serde(default)]
    pub permission_policies: Vec<PermissionPolicy>,
    /// Whether this is a built-in default role.
    #[serde(default)]
    pub default: bool,
}

/// `DomainPermissionPolicy` (subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PermissionPolicy {
    /// Permission domain, e.g. `wfm`.
    pub domain: String,
    /// Entity, or `*` for every entity of the domain.
    pub entity_name: String,
    /// Actions, `*` for every action.
    #[serde(default)]
    pub action_set: Vec<String>,
    /// Whether conditions are allowed on this policy.
    #[serde(default)]
    pub allow_conditions: bool,
}

/// A reference to another object by id, as the API nests them (`{"id": …}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdRef {
    /// The referenced id.
    pub id: String,
    /// Name, when the API includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `User` (subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `active`, `inactive` or `deleted`.
    #[serde(default = "active")]
    pub state: String,
    /// The user's own division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<IdRef>,
    /// `expand=lasttokenissued`: when the user last got a token (any grant), the better sign of
    /// use. Absent when not asked for or not returned (the API expands on a best-effort basis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_token_issued: Option<LastTokenIssued>,
    /// `expand=dateLastLogin`: the last username/password login only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_login: Option<String>,
}

/// `OAuthLastTokenIssued`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LastTokenIssued {
    /// RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_issued: Option<String>,
}

fn active() -> String {
    "active".to_owned()
}

/// `Group` (subset) with its members, read only for groups that hold roles.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// `active`, `inactive` or `deleted`.
    #[serde(default = "active")]
    pub state: String,
    /// Whether members inherit the group's roles.
    #[serde(default)]
    pub roles_enabled: bool,
    /// Member user ids (`GET /api/v2/groups/{groupId}/members`).
    #[serde(default)]
    pub member_ids: Vec<String>,
}

/// `OAuthClient` (subset; the secret is never stored).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    /// Client id.
    pub id: String,
    /// Client name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `CODE`, `TOKEN`, `SAML2-BEARER`, `PASSWORD` or `CLIENT-CREDENTIALS`.
    #[serde(default)]
    pub authorized_grant_type: String,
    /// Role grants of a client-credentials client.
    #[serde(default)]
    pub role_divisions: Vec<RoleDivision>,
    /// Scopes of user-context clients.
    #[serde(default)]
    pub scope: Vec<String>,
    /// `active`, `disabled` or `inactive`.
    #[serde(default = "active")]
    pub state: String,
    /// When an inactive client will be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_to_delete: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
}

/// `RoleDivision`: one role granted to a client in one division.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleDivision {
    /// Role id.
    pub role_id: String,
    /// Division id, or `*`.
    pub division_id: String,
}

/// One grant: subject × role × division.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// User, group or client id.
    pub subject_id: String,
    /// `PC_USER`, `PC_GROUP` or `PC_OAUTH_CLIENT`.
    pub subject_type: String,
    /// Role id.
    pub role_id: String,
    /// Division id, or `*`.
    pub division_id: String,
}

/// `AuthorizationPolicy` (ABAC).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    /// Policy id.
    pub id: String,
    /// Policy name.
    #[serde(default)]
    pub name: String,
    /// `domain:entity:action` the policy governs.
    pub target_resource: String,
    /// Who the policy applies to.
    #[serde(default)]
    pub subject: PolicySubject,
    /// `ALLOW` or `DENY`.
    pub effect: String,
    /// The condition tree, kept as data: rolecall does not evaluate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
    /// Whether the policy is in force.
    #[serde(default)]
    pub active: bool,
    /// Whether the policy also covers OAuth clients.
    #[serde(default)]
    pub apply_to_clients: bool,
}

impl AccessPolicy {
    /// Whether the policy has a condition with at least one term: an absent or `null`
    /// condition, or one whose lists of conditions and terms are all empty (`{"conditions": []}`,
    /// the shape the API returns for an unconditional policy), is no condition; any other shape,
    /// including one rolecall does not know, counts as a condition (which rolecall does not
    /// evaluate, so it can only say "may").
    #[must_use]
    pub fn has_condition(&self) -> bool {
        self.condition.as_ref().is_some_and(has_terms)
    }
}

/// Whether a condition tree holds a term (a node naming a variable) or anything rolecall does
/// not recognise as an empty node.
fn has_terms(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    fn empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
            Value::Bool(_) | Value::Number(_) => false,
        }
    }
    match v {
        Value::Null => false,
        Value::Array(a) => a.iter().any(has_terms),
        Value::Object(m) => m.iter().any(|(k, v)| match k.as_str() {
            "conditions" | "terms" => has_terms(v),
            // A conjunction or operator alone joins nothing.
            "conjunction" | "operator" => false,
            _ => !empty(v),
        }),
        // A bare value is a shape rolecall does not know: a condition, to be safe.
        Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
    }
}

/// `AuthorizationPolicy.subject`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicySubject {
    /// `USER`, `CLIENT`, `GROUP`, `TEAM` or `ALL`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Subject id, absent for `ALL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `OrgAuthSettings` (subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthSettings {
    /// Whether native logins need a second factor.
    #[serde(default)]
    pub multifactor_authentication_required: bool,
    /// Whether the embedding-domain allow-list is on.
    #[serde(default)]
    pub domain_allowlist_enabled: bool,
    /// Allowed embedding domains.
    #[serde(default)]
    pub domain_allowlist: Vec<String>,
    /// IPv4 CIDRs allowed to call the API; empty = everyone.
    #[serde(default)]
    pub ip_address_allowlist: Vec<String>,
}

/// `BusinessUnitResponse` (subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BusinessUnit {
    /// Business unit id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The division the BU sits in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<IdRef>,
}

/// `ManagementUnit` (subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManagementUnit {
    /// Management unit id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The BU it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit: Option<IdRef>,
    /// The division the MU sits in (need not match its BU's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<IdRef>,
    /// Agents in the unit (`GET …/managementunits/{id}/users`), when read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_ids: Vec<String>,
}

/// One `DomainPermission` from the permission catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CatalogPermission {
    /// Domain.
    pub domain: String,
    /// Entity type.
    pub entity_type: String,
    /// Action.
    pub action: String,
    /// Whether grants of this permission are limited to their division.
    #[serde(default)]
    pub division_aware: bool,
}

/// The operations of a catalog indexed for lookups: by method and number of path segments (a
/// request's candidates), and by operationId. Built once per org ([`crate::model::Org::operations`])
/// or per catalog built from operations, so a server answering questions about one org
/// indexes its operations once.
#[derive(Debug, Clone, Default)]
pub struct OperationIndex {
    /// Operations (their indexes) by upper-case method and number of `/`-separated segments.
    pub by_shape: std::collections::HashMap<(String, usize), Vec<usize>>,
    /// Operations by operationId.
    pub by_id: std::collections::HashMap<String, usize>,
}

impl OperationIndex {
    /// Index `ops`.
    #[must_use]
    pub fn of(ops: &[Operation]) -> Self {
        let mut index = Self::default();
        for (i, op) in ops.iter().enumerate() {
            index
                .by_shape
                .entry((op.method.to_ascii_uppercase(), Self::split(&op.path).len()))
                .or_default()
                .push(i);
            index.by_id.insert(op.operation_id.clone(), i);
        }
        index
    }

    /// A path's `/`-separated segments (a trailing `/` ignored): how the index shapes
    /// operations and how a request is matched against them.
    #[must_use]
    pub fn split(path: &str) -> Vec<&str> {
        path.trim_end_matches('/').split('/').collect()
    }
}

/// One API operation's authorization requirements.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// HTTP method, upper case.
    pub method: String,
    /// Path template, e.g. `/api/v2/workforcemanagement/agents`.
    pub path: String,
    /// operationId.
    #[serde(default)]
    pub operation_id: String,
    /// `x-inin-requires-permissions`, if declared.
    #[serde(default)]
    pub permissions: Option<Requirement>,
    /// OAuth scopes that allow the operation.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Declared 403 error codes.
    #[serde(default, rename = "errorCodes403")]
    pub error_codes_403: Vec<String>,
}

/// `x-inin-requires-permissions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    /// `ANY` or `ALL`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Permissions.
    pub list: Vec<String>,
}

/// Whether one endpoint was read completely.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// `METHOD /path`.
    pub endpoint: String,
    /// Which snapshot array the endpoint fills, e.g. `accessPolicies`.
    #[serde(default)]
    pub dataset: String,
    /// `ok` or `gap`.
    pub status: String,
    /// HTTP status that stopped the read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Genesys error `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Error message from the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The permission the operation catalog says the endpoint needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(condition: Option<serde_json::Value>) -> AccessPolicy {
        AccessPolicy {
            condition,
            ..AccessPolicy::default()
        }
    }

    /// Issue 21: `{"conditions": []}`, the shape Genesys returns for an unconditional policy,
    /// was taken for a condition.
    #[test]
    fn a_condition_without_terms_is_no_condition() {
        use serde_json::json;
        for none in [
            None,
            Some(json!(null)),
            Some(json!({})),
            Some(json!([])),
            Some(json!({"conditions": []})),
            Some(json!({"terms": []})),
            Some(json!({"conjunction": "AND", "terms": []})),
            Some(json!({"conjunction": "AND", "terms": [{"terms": []}]})),
            Some(json!({"conditions": [{"conjunction": "OR", "conditions": []}]})),
        ] {
            assert!(!with(none.clone()).has_condition(), "{none:?}");
        }
        for some in [
            json!({"variableName": "Conversation.queueId", "operator": "EQ", "operands": ["q1"]}),
            json!({"conjunction": "AND", "terms": [{"variableName": "x", "operator": "EQ", "operands": ["1"]}]}),
            json!({"conditions": [{"terms": [{"variableName": "x"}]}]}),
            json!({"somethingNew": {"a": 1}}),
            json!("queue = q1"),
        ] {
            assert!(with(Some(some.clone())).has_condition(), "{some}");
        }
    }
}
