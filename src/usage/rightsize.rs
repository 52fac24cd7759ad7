//! `rightsize`: from a subject's observed calls, the permissions they need; a role holding only
//! those, granted in the divisions the subject holds today, as a `rolecall.change/1` file and a
//! CX-as-Code snippet; and the proof: every observed call replayed through `explain` on the org
//! with the proposal applied (`change::apply`), none of them worse off than today.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{held, need_of, observed, regressed, Held, UsageError};
use crate::authz::{effective_grants, explain, subject_phrase, Question, Verdict, Via};
use crate::catalog::usage::Matches;
use crate::catalog::Catalog;
use crate::change::{apply, parse_change_toml, CHANGE_FORMAT};
use crate::model::{Org, PermissionPolicy, Scope, SubjectRef, ALL_DIVISIONS};

/// The permissions one call needs: `ALL` of `chosen`, or `ANY` (one of `chosen` and the
/// `alternatives`, the catalog's other choices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Need {
    /// `ANY` or `ALL`.
    pub kind: String,
    /// The permissions the proposal grants for it.
    pub chosen: Vec<String>,
    /// The catalog's other alternatives (`ANY` only).
    pub alternatives: Vec<String>,
}

/// One observed call, and what replaying it found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallProof {
    /// `METHOD template`, as observed.
    pub call: String,
    /// The catalog operation it matched.
    pub operation: Option<String>,
    /// Requests over the window.
    pub requests: u64,
    /// 4xx answers other than 429 over the window.
    pub failing: u64,
    /// What it needs.
    pub need: Option<Need>,
    /// The verdict today.
    pub before: Option<Verdict>,
    /// The verdict with the proposal applied.
    pub after: Option<Verdict>,
    /// The verdict line with the proposal applied.
    pub after_line: String,
    /// Whether the proposal makes it worse (a regression: the proposal is not proven).
    pub regressed: bool,
}

/// A rightsizing proposal and its proof.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rightsize {
    /// "client `ci-deployer`".
    pub subject: String,
    /// What it holds today.
    pub held: Held,
    /// The usage interval.
    pub interval: String,
    /// Days it spans.
    pub days: u32,
    /// Each observed call.
    pub calls: Vec<CallProof>,
    /// The distinct permissions the calls need.
    pub needed: Vec<String>,
    /// The proposed role's name (none when the calls need no permission).
    pub role: Option<String>,
    /// Its permission policies.
    pub policies: Vec<PermissionPolicy>,
    /// Where it is granted: the divisions the subject holds today (names, or `*`).
    pub divisions: Vec<String>,
    /// Grants the proposal removes.
    pub revoked: Vec<String>,
    /// Grants through groups the proposal leaves (change the group's roles instead).
    pub inherited: Vec<String>,
    /// The proposal as a `rolecall.change/1` file.
    pub change_file: String,
    /// The proposal as CX as Code (Terraform, `genesyscloud` provider).
    pub cx_as_code: String,
    /// Whether no observed call is worse off with the proposal applied.
    pub proven: bool,
    /// Calls whose template matched no catalog operation (not replayed).
    pub unmatched: Vec<String>,
    /// What the proposal rests on that is not confirmed, in plain words.
    pub notes: Vec<String>,
}

impl Rightsize {
    /// "holds 214 permissions through 3 roles; its 41 operations over 90 days need 9".
    #[must_use]
    pub fn headline(&self) -> String {
        format!(
            "holds {} permission{} through {} role{}; its {} operation{} over {} day{} need {}",
            self.held.permissions,
            plural(self.held.permissions),
            self.held.roles.len(),
            plural(self.held.roles.len()),
            self.calls.len(),
            plural(self.calls.len()),
            self.days,
            plural(self.days as usize),
            self.needed.len()
        )
    }

    /// Calls failing today (4xx other than 429).
    pub fn failing(&self) -> impl Iterator<Item = &CallProof> {
        self.calls.iter().filter(|c| c.failing > 0)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Propose a role for `s` from its observed calls and prove it.
///
/// # Errors
/// When the snapshot has no usage, the subject holds no roles that apply (a group, a
/// user-context client), or the proposal cannot be applied.
pub fn rightsize(org: &Org, catalog: &Catalog<'_>, s: SubjectRef) -> Result<Rightsize, UsageError> {
    refuse_roleless(org, s)?;
    let matches = super::matches(org, catalog)?;
    let obs = observed(org, catalog, &matches, s)?;
    let mut needs = Vec::new();
    let mut needed = BTreeSet::new();
    for c in &obs.calls {
        let need = c.requirement.as_ref().map(|r| need_of(org, s, r));
        if let Some(n) = &need {
            needed.extend(n.chosen.iter().cloned());
        }
        needs.push(need);
    }
    let needed: Vec<String> = needed.into_iter().collect();
    let mut out = proposal(org, s, &needed);
    out.held = held(org, s);
    out.interval.clone_from(&obs.interval);
    out.days = obs.days;
    out.unmatched = obs.unmatched();
    out.needed = needed;
    out.notes = notes(&out, &matches);
    let set = parse_change_toml(&out.change_file, "rightsize proposal")?;
    let applied = apply(org, &set)?;
    let after = Org::new(applied.snapshot);
    let after_catalog = Catalog::for_org(&after).with_origin(catalog.origin().clone());
    for (c, need) in obs.calls.iter().zip(needs) {
        out.calls
            .push(replay((org, catalog), (&after, &after_catalog), s, c, need));
    }
    out.proven = !out.calls.iter().any(|c| c.regressed);
    Ok(out)
}

/// Groups do not call the API, and a user-context client's calls run as its users.
fn refuse_roleless(org: &Org, s: SubjectRef) -> Result<(), UsageError> {
    let why = match s {
        SubjectRef::Group(_) => "groups make no calls of their own: rightsize their members",
        SubjectRef::Client(c) if !crate::authz::is_client_credentials(org, c) => {
            "its calls run as the users who sign in through it, with their roles: rightsize the users (`user:EMAIL`)"
        }
        _ => return Ok(()),
    };
    Err(UsageError::Input {
        message: format!(
            "{} holds no roles of its own to rightsize",
            subject_phrase(org, s)
        ),
        help: why.to_owned(),
    })
}

/// One call explained today and with the proposal applied.
fn replay(
    (org, catalog): (&Org, &Catalog<'_>),
    (after, after_catalog): (&Org, &Catalog<'_>),
    s: SubjectRef,
    c: &super::Call,
    need: Option<Need>,
) -> CallProof {
    let mut proof = CallProof {
        call: c.usage.call(),
        operation: c.operation.clone(),
        requests: c.usage.requests,
        failing: c.usage.failing(),
        need,
        before: None,
        after: None,
        after_line: "not replayed: the template matched no catalog operation".to_owned(),
        regressed: false,
    };
    let Some(op) = c.operation.as_deref() else {
        return proof;
    };
    let ask = |o: &Org, cat: &Catalog<'_>, subject: SubjectRef| {
        explain(
            o,
            cat,
            &Question {
                subject,
                operation: op,
                target: None,
                agents: Vec::new(),
                unread_target: None,
            },
        )
        .ok()
    };
    let before = ask(org, catalog, s);
    let after_s = crate::authz::same_subject(org, s, after).unwrap_or(s);
    let now = ask(after, after_catalog, after_s);
    if let (Some(b), Some(a)) = (&before, &now) {
        proof.regressed = regressed(b, a);
        proof.after_line = a.verdict_line();
    }
    proof.before = before.map(|e| e.verdict);
    proof.after = now.map(|e| e.verdict);
    proof
}

/// The role, its grants and the change that makes them, in both forms.
fn proposal(org: &Org, s: SubjectRef, needed: &[String]) -> Rightsize {
    let snap = org.snapshot();
    let name = org.subject_name(s).to_owned();
    let role = (!needed.is_empty()).then(|| role_name(org, &name));
    let mut scopes = BTreeSet::new();
    let (mut revoked, mut inherited) = (Vec::new(), Vec::new());
    let mut revokes = Vec::new();
    for g in effective_grants(org, s) {
        let role_name = snap
            .roles
            .get(g.grant.role as usize)
            .map_or("", |r| r.name.as_str());
        let phrase = crate::authz::grant_phrase(org, &g.grant);
        match g.via {
            Via::Direct => {
                scopes.insert(g.grant.scope);
                revokes.push((role_name.to_owned(), division_key(org, g.grant.scope)));
                revoked.push(phrase);
            }
            Via::Group(_) => {
                scopes.insert(g.grant.scope);
                inherited.push(crate::authz::held_grant_phrase(org, &g));
            }
        }
    }
    // `*` covers every division: granting elsewhere beside it would add nothing.
    if scopes.contains(&Scope::All) {
        scopes.retain(|s| *s == Scope::All);
    }
    let divisions: Vec<(String, String)> = scopes
        .iter()
        .map(|&sc| (division_key(org, sc), org.scope_name(sc).to_owned()))
        .collect();
    let policies = policies_of(needed);
    let spec = subject_spec(org, s);
    let change_file = change_toml(&spec, role.as_deref(), needed, &divisions, &revokes);
    let cx_as_code = cx_as_code(org, s, role.as_deref(), &policies, &divisions);
    Rightsize {
        subject: subject_phrase(org, s),
        held: Held::default(),
        interval: String::new(),
        days: 0,
        calls: Vec::new(),
        needed: Vec::new(),
        role,
        policies,
        divisions: divisions.into_iter().map(|(_, n)| n).collect(),
        revoked,
        inherited,
        change_file,
        cx_as_code,
        proven: false,
        unmatched: Vec::new(),
        notes: Vec::new(),
    }
}

/// `NAME (rightsized)`, numbered when the org has a role by that name already.
fn role_name(org: &Org, subject: &str) -> String {
    let base = format!("{subject} (rightsized)");
    let mut name = base.clone();
    let mut n = 2;
    while org.role(&name).is_some() && n < 1000 {
        name = format!("{base} {n}");
        n += 1;
    }
    name
}

/// How a change file names a division: `*`, or the division's id (names may repeat).
fn division_key(org: &Org, scope: Scope) -> String {
    match scope {
        Scope::All => ALL_DIVISIONS.to_owned(),
        Scope::Division(d) => org
            .snapshot()
            .divisions
            .get(d as usize)
            .map_or_else(String::new, |d| d.id.clone()),
    }
}

/// `client:ID`, `user:ID`: ids, which a change file resolves whatever the names hold.
fn subject_spec(org: &Org, s: SubjectRef) -> String {
    let kind = match s {
        SubjectRef::User(_) => "user",
        SubjectRef::Group(_) => "group",
        SubjectRef::Client(_) => "client",
    };
    format!("{kind}:{}", org.subject_id(s))
}

/// Permission policies: one per `domain:entity`, its actions sorted.
fn policies_of(needed: &[String]) -> Vec<PermissionPolicy> {
    let mut by: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for p in needed {
        let mut parts = p.splitn(3, ':');
        if let (Some(d), Some(e), Some(a)) = (parts.next(), parts.next(), parts.next()) {
            by.entry((d.to_owned(), e.to_owned()))
                .or_default()
                .insert(a.to_owned());
        }
    }
    by.into_iter()
        .map(|((domain, entity_name), actions)| PermissionPolicy {
            domain,
            entity_name,
            action_set: actions.into_iter().collect(),
            allow_conditions: false,
        })
        .collect()
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn change_toml(
    subject: &str,
    role: Option<&str>,
    needed: &[String],
    divisions: &[(String, String)],
    revokes: &[(String, String)],
) -> String {
    use std::fmt::Write as _;
    let mut t = format!(
        "# Proposed by `rolecall rightsize`: the role the observed calls need, granted where\n\
         # the subject holds roles today, replacing its current grants.\nformat = \"{CHANGE_FORMAT}\"\n"
    );
    if let Some(role) = role {
        let perms: Vec<String> = needed.iter().map(|p| toml_str(p)).collect();
        let _ = write!(
            t,
            "\n[[change]]\nop = \"create-role\"\nname = {}\ndescription = {}\npermissions = [{}]\n",
            toml_str(role),
            toml_str("what the observed API calls need (rolecall rightsize)"),
            perms.join(", ")
        );
        for (key, _) in divisions {
            let _ = write!(
                t,
                "\n[[change]]\nop = \"grant\"\nsubject = {}\nrole = {}\ndivision = {}\n",
                toml_str(subject),
                toml_str(role),
                toml_str(key)
            );
        }
    }
    for (role, division) in revokes {
        let _ = write!(
            t,
            "\n[[change]]\nop = \"revoke\"\nsubject = {}\nrole = {}\ndivision = {}\n",
            toml_str(subject),
            toml_str(role),
            toml_str(division)
        );
    }
    t
}

/// An HCL string.
fn hcl_str(s: &str) -> String {
    toml_str(s).replace("${", "$${")
}

fn cx_as_code(
    org: &Org,
    s: SubjectRef,
    role: Option<&str>,
    policies: &[PermissionPolicy],
    divisions: &[(String, String)],
) -> String {
    use std::fmt::Write as _;
    let Some(role) = role else {
        return "# the observed calls need no permission: remove every role of the subject\n"
            .to_owned();
    };
    let label: String = role
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut t = format!(
        "resource \"genesyscloud_auth_role\" \"{label}\" {{\n  name        = {}\n  description = {}\n",
        hcl_str(role),
        hcl_str("what the observed API calls need (rolecall rightsize)")
    );
    for p in policies {
        let actions: Vec<String> = p.action_set.iter().map(|a| hcl_str(a)).collect();
        let _ = write!(
            t,
            "  permission_policies {{\n    domain      = {}\n    entity_name = {}\n    action_set  = [{}]\n  }}\n",
            hcl_str(&p.domain),
            hcl_str(&p.entity_name),
            actions.join(", ")
        );
    }
    t.push_str("}\n\n");
    let name = org.subject_name(s);
    match s {
        SubjectRef::Client(_) => {
            let _ = writeln!(
                t,
                "# In the `genesyscloud_oauth_client` resource of {}, replace its `roles` blocks with:",
                hcl_str(name)
            );
            for (key, div) in divisions {
                let _ = write!(
                    t,
                    "  roles {{\n    role_id     = genesyscloud_auth_role.{label}.id\n    division_id = {} # {}\n  }}\n",
                    hcl_str(key),
                    div
                );
            }
        }
        _ => {
            let ids: Vec<String> = divisions.iter().map(|(k, _)| hcl_str(k)).collect();
            let _ = write!(
                t,
                "# Authoritative: the user's other direct roles are removed.\nresource \"genesyscloud_user_roles\" \"{label}\" {{\n  user_id = {}\n  roles {{\n    role_id      = genesyscloud_auth_role.{label}.id\n    division_ids = [{}]\n  }}\n}}\n",
                hcl_str(org.subject_id(s)),
                ids.join(", ")
            );
        }
    }
    t
}

/// What the proposal rests on, in plain words.
fn notes(r: &Rightsize, matches: &Matches) -> Vec<String> {
    let mut notes = vec![
        "usage has no division and no object ids: it says which operations, not where; the \
         proposal keeps the divisions the subject holds today and cannot narrow them"
            .to_owned(),
        crate::catalog::usage::TEMPLATE_UNCONFIRMED.to_owned(),
    ];
    if !r.unmatched.is_empty() {
        notes.push(format!(
            "{} observed call(s) matched no catalog operation and are not covered by the proposal: {}",
            r.unmatched.len(),
            r.unmatched.join(", ")
        ));
    }
    if !r.inherited.is_empty() {
        notes.push(
            "grants held through groups are left as they are: change the groups' roles to narrow them"
                .to_owned(),
        );
    }
    if matches.is_empty() {
        notes.push("the usage window holds no calls at all".to_owned());
    }
    notes.push(
        "calls not made in the usage window (monthly jobs, rare error paths) are not in the proposal"
            .to_owned(),
    );
    notes
}
