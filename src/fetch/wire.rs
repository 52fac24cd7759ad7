//! Wire types: the Platform API's response shapes (API-FACTS §2), converted into the model.
//! Only the fields rolecall keeps are read; everything else is ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model;

/// A page-number listing envelope.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// Items.
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
    /// Pages in the listing (absent on some listings).
    #[serde(default)]
    pub page_count: Option<usize>,
    /// Items in the whole listing (absent on some listings).
    #[serde(default)]
    pub total: Option<usize>,
    /// The page size the server used.
    #[serde(default)]
    pub page_size: Option<usize>,
    /// Next page's URI (cursor listings).
    #[serde(default)]
    pub next_uri: Option<String>,
}

/// `{id, name}` references.
#[derive(Debug, Deserialize)]
pub struct Ref {
    /// Id.
    pub id: String,
    /// Name, when given.
    #[serde(default)]
    pub name: Option<String>,
}

impl From<Ref> for model::IdRef {
    fn from(r: Ref) -> Self {
        Self {
            id: r.id,
            name: r.name,
        }
    }
}

/// `DomainOrganizationRole`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    permission_policies: Vec<Policy>,
    #[serde(default)]
    default: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Policy {
    domain: String,
    entity_name: String,
    #[serde(default)]
    action_set: Vec<String>,
    #[serde(default)]
    allow_conditions: bool,
}

impl Role {
    /// The role's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl From<Role> for model::Role {
    fn from(r: Role) -> Self {
        Self {
            id: r.id,
            name: r.name,
            description: r.description,
            default: r.default,
            permission_policies: r
                .permission_policies
                .into_iter()
                .map(|p| model::PermissionPolicy {
                    domain: p.domain,
                    entity_name: p.entity_name,
                    action_set: p.action_set,
                    allow_conditions: p.allow_conditions,
                })
                .collect(),
        }
    }
}

/// `SubjectDivisionGrants`: who holds a role, and in which divisions.
#[derive(Debug, Deserialize)]
pub struct SubjectGrants {
    id: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    divisions: Vec<Ref>,
}

impl SubjectGrants {
    /// Grant rows of `role_id` (clients included; the model merges them with `roleDivisions`).
    pub fn into_grants(self, role_id: &str) -> impl Iterator<Item = model::Grant> + '_ {
        let (id, kind) = (self.id, self.kind);
        self.divisions.into_iter().map(move |d| model::Grant {
            subject_id: id.clone(),
            subject_type: kind.clone(),
            role_id: role_id.to_owned(),
            division_id: d.id,
        })
    }
}

/// `User`.
#[derive(Debug, Deserialize)]
pub struct User {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    division: Option<Ref>,
    #[serde(default, rename = "lastTokenIssued")]
    last_token_issued: Option<LastTokenIssued>,
    #[serde(default, rename = "dateLastLogin")]
    date_last_login: Option<String>,
}

/// `OAuthLastTokenIssued`.
#[derive(Debug, Deserialize)]
pub struct LastTokenIssued {
    #[serde(default, rename = "dateIssued")]
    date_issued: Option<String>,
}

impl User {
    /// The user's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl From<User> for model::User {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            email: u.email,
            username: u.username,
            state: u.state.unwrap_or_else(|| "active".to_owned()),
            division: u.division.map(Into::into),
            last_token_issued: u.last_token_issued.map(|t| model::LastTokenIssued {
                date_issued: t.date_issued,
            }),
            date_last_login: u.date_last_login,
        }
    }
}

/// `Group`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    id: String,
    name: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    roles_enabled: bool,
}

impl Group {
    /// The group's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Convert, with the members read for role-holding groups.
    #[must_use]
    pub fn into_model(self, member_ids: Vec<String>) -> model::Group {
        model::Group {
            id: self.id,
            name: self.name,
            state: self.state.unwrap_or_else(|| "active".to_owned()),
            roles_enabled: self.roles_enabled,
            member_ids,
        }
    }
}

/// `OAuthClient` (the secret, if the API ever returns it, is not read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    authorized_grant_type: String,
    #[serde(default)]
    role_divisions: Vec<RoleDivision>,
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    date_to_delete: Option<String>,
    #[serde(default)]
    date_created: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleDivision {
    role_id: String,
    division_id: String,
}

impl From<Client> for model::OAuthClient {
    fn from(c: Client) -> Self {
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            authorized_grant_type: c.authorized_grant_type,
            role_divisions: c
                .role_divisions
                .into_iter()
                .map(|r| model::RoleDivision {
                    role_id: r.role_id,
                    division_id: r.division_id,
                })
                .collect(),
            scope: c.scope,
            state: c.state.unwrap_or_else(|| "active".to_owned()),
            date_to_delete: c.date_to_delete,
            date_created: c.date_created,
        }
    }
}

/// `AuthzDivision`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Division {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    home_division: bool,
}

impl From<Division> for model::Division {
    fn from(d: Division) -> Self {
        Self {
            id: d.id,
            name: d.name,
            description: d.description,
            home_division: d.home_division,
        }
    }
}

/// `DomainPermissionCollection`: one domain's permissions, by entity.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCollection {
    #[serde(default)]
    permission_map: BTreeMap<String, Vec<DomainPermission>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainPermission {
    domain: String,
    entity_type: String,
    action: String,
    #[serde(default)]
    division_aware: bool,
}

impl PermissionCollection {
    /// Flatten into catalog entries.
    pub fn into_catalog(self) -> impl Iterator<Item = model::CatalogPermission> {
        self.permission_map
            .into_values()
            .flatten()
            .map(|p| model::CatalogPermission {
                domain: p.domain,
                entity_type: p.entity_type,
                action: p.action,
                division_aware: p.division_aware,
            })
    }
}

/// `AuthorizationPolicy`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    target_resource: String,
    #[serde(default)]
    subject: Option<PolicySubject>,
    #[serde(default)]
    effect: String,
    #[serde(default)]
    condition: Option<serde_json::Value>,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    apply_to_clients: bool,
}

#[derive(Debug, Deserialize)]
struct PolicySubject {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    id: Option<String>,
}

impl From<AccessPolicy> for model::AccessPolicy {
    fn from(p: AccessPolicy) -> Self {
        let subject =
            p.subject
                .map_or_else(model::PolicySubject::default, |s| model::PolicySubject {
                    kind: s.kind,
                    id: s.id,
                });
        Self {
            id: p.id,
            name: p.name,
            target_resource: p.target_resource,
            subject,
            effect: p.effect,
            condition: p.condition,
            active: p.active,
            apply_to_clients: p.apply_to_clients,
        }
    }
}

/// `OrgAuthSettings`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthSettings {
    #[serde(default)]
    multifactor_authentication_required: bool,
    #[serde(default)]
    domain_allowlist_enabled: bool,
    #[serde(default)]
    domain_allowlist: Vec<String>,
    #[serde(default)]
    ip_address_allowlist: Vec<String>,
}

impl From<AuthSettings> for model::AuthSettings {
    fn from(a: AuthSettings) -> Self {
        Self {
            multifactor_authentication_required: a.multifactor_authentication_required,
            domain_allowlist_enabled: a.domain_allowlist_enabled,
            domain_allowlist: a.domain_allowlist,
            ip_address_allowlist: a.ip_address_allowlist,
        }
    }
}

/// `Organization`.
#[derive(Debug, Deserialize)]
pub struct Organization {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    domain: Option<String>,
}

impl From<Organization> for model::Organization {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            domain: o.domain,
            // No endpoint reports scope enforcement: unknown until someone records it.
            scope_enforcement: None,
        }
    }
}

/// `BusinessUnitListItem`.
#[derive(Debug, Deserialize)]
pub struct BusinessUnit {
    id: String,
    name: String,
    #[serde(default)]
    division: Option<Ref>,
}

impl From<BusinessUnit> for model::BusinessUnit {
    fn from(b: BusinessUnit) -> Self {
        Self {
            id: b.id,
            name: b.name,
            division: b.division.map(Into::into),
        }
    }
}

/// `ManagementUnit`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementUnit {
    id: String,
    name: String,
    #[serde(default)]
    business_unit: Option<Ref>,
    #[serde(default)]
    division: Option<Ref>,
}

impl From<ManagementUnit> for model::ManagementUnit {
    fn from(m: ManagementUnit) -> Self {
        Self {
            id: m.id,
            name: m.name,
            business_unit: m.business_unit.map(Into::into),
            division: m.division.map(Into::into),
            user_ids: Vec::new(),
        }
    }
}

/// The OAuth token response, checked: the token is something a header can carry, and the
/// lifetime, when given, is a number of seconds.
pub struct Token {
    /// The bearer token: visible ASCII only.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: Option<u64>,
}

impl Token {
    /// Read a token response. The error says what is wrong in words and never quotes the
    /// token (it may be most of the body).
    ///
    /// # Errors
    /// Not a JSON object, no `access_token` string, a token with anything but visible ASCII
    /// (CR, LF or NUL would let the server inject headers, and cannot be sent anyway), or an
    /// `expires_in` that is not a non-negative whole number of seconds.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| "the token response is not JSON".to_owned())?;
        let Some(access_token) = v.get("access_token") else {
            return Err("the token response has no `access_token`".to_owned());
        };
        let Some(access_token) = access_token.as_str() else {
            return Err("the token response's `access_token` is not a string".to_owned());
        };
        if !is_token(access_token) {
            return Err(format!(
                "the token response's `access_token` ({} byte(s)) is empty or holds characters \
                 other than visible ASCII (control characters, spaces or non-ASCII), so it cannot \
                 be sent in a header",
                access_token.len()
            ));
        }
        let expires_in = match v.get("expires_in") {
            None | Some(serde_json::Value::Null) => None,
            Some(n) => match n.as_u64() {
                Some(secs) => Some(secs),
                None => {
                    let shown: String = n.to_string().chars().take(40).collect();
                    return Err(format!(
                        "the token response's `expires_in` is `{}`, not a lifetime in seconds",
                        crate::text::visible(&shown)
                    ));
                }
            },
        };
        Ok(Self {
            access_token: access_token.to_owned(),
            expires_in,
        })
    }
}

/// Whether `token` can be sent as a bearer token: not empty, visible ASCII only.
#[must_use]
pub fn is_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// `DivsPermittedEntityListing`: the page-number envelope plus `allDivsPermitted`
/// (`GET /api/v2/authorization/divisionspermitted/paged/{subjectId}` and `…/paged/me`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DivsPermittedPage {
    /// The divisions (`AuthzDivision`; only `id` is read).
    #[serde(default = "Vec::new")]
    pub entities: Vec<Ref>,
    /// Whether the subject holds the permission in every division.
    #[serde(default)]
    pub all_divs_permitted: bool,
    /// Pages in the listing.
    #[serde(default)]
    pub page_count: Option<usize>,
}

/// A Genesys error body (the fields rolecall uses).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The error code, e.g. `missing.permissions`.
    #[serde(default)]
    pub code: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `OrganizationUsageQueryResponse`: the job started.
#[derive(Debug, Deserialize)]
pub struct UsageJob {
    /// The job id.
    pub id: String,
}

/// `OrganizationPublicApiUsageResultsResponse`: one poll or one page of results.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageResults {
    /// `Queued`, `Running`, `Succeeded`, `Failed` or `Cancelled`.
    #[serde(default)]
    pub query_status: String,
    /// Why it failed, when it says.
    #[serde(default)]
    pub error_body: Option<ErrorBody>,
    /// Rows of this page.
    #[serde(default)]
    pub entities: Vec<UsageEntity>,
    /// The next page, if any.
    #[serde(default)]
    pub next_uri: Option<String>,
}

/// `OrganizationPublicApiUsage`.
#[cfg_attr(
    not(feature = "fetch"),
    expect(dead_code, reason = "read only by the usage fetch")
)]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageEntity {
    #[serde(default)]
    date: String,
    #[serde(default)]
    http_method: String,
    #[serde(default)]
    template_uri: String,
    #[serde(default)]
    request_count: u64,
    #[serde(default)]
    status200: u64,
    #[serde(default)]
    status300: u64,
    #[serde(default)]
    status400: u64,
    #[serde(default)]
    status429: u64,
    #[serde(default)]
    status500: u64,
    #[serde(default)]
    oauth_client: Option<Ref>,
    #[serde(default)]
    user: Option<Ref>,
}

// Read only by the usage fetch (the `fetch` feature).
#[cfg(feature = "fetch")]
impl UsageEntity {
    /// Add this entity as one row: ids as the caller, the method upper-cased, the day of a
    /// date-time kept (`date` is a date, `yyyy-MM-dd`).
    pub(crate) fn add_to(self, usage: &mut model::UsageBuilder) {
        let date = self.date.get(..10).unwrap_or(&self.date);
        usage.push(
            date,
            model::Caller {
                client_id: self.oauth_client.map(|c| c.id),
                user_id: self.user.map(|u| u.id),
            },
            &self.http_method.to_ascii_uppercase(),
            &self.template_uri,
            model::Counts {
                requests: self.request_count,
                status200: self.status200,
                status300: self.status300,
                status400: self.status400,
                status429: self.status429,
                status500: self.status500,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes_convert() {
        let roles: Page<Role> = serde_json::from_str(r#"{"entities": [{"id": "role-uuid-1", "name": "Example Scheduling Role", "description": "example", "permissions": [],
            "permissionPolicies": [{"domain": "wfm", "entityName": "agent", "actionSet": ["edit", "view"], "allowConditions": false}],
            "userCount": 3, "base": false, "default": false}], "pageSize": 100, "pageNumber": 1, "total": 1, "pageCount": 1}"#).unwrap();
        assert_eq!(roles.page_count, Some(1));
        let role: model::Role = roles.entities.into_iter().next().unwrap().into();
        assert_eq!(role.permission_policies[0].action_set, ["edit", "view"]);
        let grants: Page<SubjectGrants> = serde_json::from_str(r#"{"entities": [{"id": "client-uuid-1", "name": "x", "type": "PC_OAUTH_CLIENT", "divisions": [{"id": "*", "name": "example"}]}], "pageCount": 1}"#).unwrap();
        let g: Vec<model::Grant> = grants
            .entities
            .into_iter()
            .next()
            .unwrap()
            .into_grants("r1")
            .collect();
        assert_eq!(
            (g[0].subject_type.as_str(), g[0].division_id.as_str()),
            ("PC_OAUTH_CLIENT", "*")
        );
        let perms: Page<PermissionCollection> = serde_json::from_str(r#"{"entities": [{"id": "wfm", "name": "wfm", "domain": "wfm",
            "permissionMap": {"agent": [{"domain": "wfm", "entityType": "agent", "action": "edit", "label": "Edit", "allowsConditions": false, "divisionAware": true}]}}]}"#).unwrap();
        let c: Vec<_> = perms
            .entities
            .into_iter()
            .flat_map(PermissionCollection::into_catalog)
            .collect();
        assert!(c[0].division_aware);
    }

    #[test]
    fn token_responses_are_checked_in_words() {
        let ok = Token::parse(br#"{"access_token":"tok-Ab9_.~+/=","expires_in":86399}"#).unwrap();
        assert_eq!(
            (ok.access_token.as_str(), ok.expires_in),
            ("tok-Ab9_.~+/=", Some(86399))
        );
        assert_eq!(
            Token::parse(br#"{"access_token":"t0k3n-abc"}"#)
                .unwrap()
                .expires_in,
            None
        );
        for (body, says) in [
            (
                &br#"{"expires_in":-5,"access_token":"t0k3n-abc"}"#[..],
                "`expires_in` is `-5`",
            ),
            (
                br#"{"access_token":"t0k3n-abc","expires_in":"soon"}"#,
                "`expires_in` is `\"soon\"`",
            ),
            (
                br#"{"access_token":"t0k3n-abc","expires_in":1.5}"#,
                "not a lifetime",
            ),
            (br#"{"expires_in":3600}"#, "has no `access_token`"),
            (br#"{"access_token":7}"#, "is not a string"),
            (br#"<html>"#, "is not JSON"),
            (br#"{"access_token":"t0k\r\nX-Evil: 1"}"#, "visible ASCII"),
            (br#"{"access_token":"t0k\u0000abc"}"#, "visible ASCII"),
            (br#"{"access_token":"t0k abc"}"#, "visible ASCII"),
            (br#"{"access_token":""}"#, "is empty"),
        ] {
            let e = Token::parse(body).err().unwrap();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("t0k"), "the token is never quoted: {e}");
        }
    }
}
