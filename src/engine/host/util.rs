//! Helper functions for rules that Rhai lacks: CIDR containment, glob matching, config errors.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, NativeCallContext};

use crate::engine::sandbox::Meter;

/// Marker prefix that turns a script error into a configuration error.
pub(crate) const CONFIG_ERROR: &str = "rolecall-config-error: ";
/// Prefix of the error `not_run(reason)` raises: the runner reports the rule "not run".
pub(crate) const NOT_RUN: &str = "rolecall-not-run: ";

/// Parse `a.b.c.d/n` or a bare address (a /32).
pub(crate) fn parse_cidr(text: &str) -> Option<Ipv4Net> {
    let text = text.trim();
    text.parse::<Ipv4Net>()
        .ok()
        .or_else(|| text.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
}

/// Whether `inner` lies entirely inside one of `list` (malformed list entries cover nothing).
fn covered(list: &[Ipv4Net], inner: &Ipv4Net) -> bool {
    list.iter().any(|outer| outer.contains(inner))
}

/// Glob match, ASCII case-insensitive: `*` matches any run of characters, `?` one character.
///
/// Works on bytes without allocating, because bulk queries call it for every user. The
/// backtracking is bounded by `|pattern| × |text|` steps; inside a rule, `glob_match_metered`
/// also stops at the run's deadline.
#[must_use]
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob_steps(pattern, text, &mut || Ok(())).unwrap_or(false)
}

/// [`glob_match`] under the run's time budget: the clock is read every few thousand steps.
pub(crate) fn glob_match_metered(
    pattern: &str,
    text: &str,
    meter: &mut Meter,
) -> Result<bool, Box<EvalAltResult>> {
    glob_steps(pattern, text, &mut || meter.tick())
}

fn glob_steps(
    pattern: &str,
    text: &str,
    step: &mut dyn FnMut() -> Result<(), Box<EvalAltResult>>,
) -> Result<bool, Box<EvalAltResult>> {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    // Length in bytes of the UTF-8 character starting at `i`.
    let char_len = |i: usize| 1 + t[i + 1..].iter().take_while(|&&b| b & 0xC0 == 0x80).count();
    while ti < t.len() {
        step()?;
        if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti += char_len(ti);
        } else if pi < p.len() && p[pi] != b'*' && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += char_len(mark);
            ti = mark;
        } else {
            return Ok(false);
        }
    }
    Ok(p[pi..].iter().all(|&c| c == b'*'))
}

/// `join(list, sep)`, refused before allocating when the result would exceed the largest
/// string a rule may hold (a list of thousands of megabyte strings would otherwise ask for
/// gigabytes in one native call).
fn join(list: &Array, sep: &str, max: usize) -> Result<String, Box<EvalAltResult>> {
    let items: Vec<String> = list.iter().map(ToString::to_string).collect();
    let total = items.iter().map(String::len).fold(
        sep.len().saturating_mul(items.len().saturating_sub(1)),
        usize::saturating_add,
    );
    if total > max {
        return Err(format!(
            "`join` would make a string of {total} bytes, more than the largest a rule may hold ({max})"
        )
        .into());
    }
    Ok(items.join(sep))
}

/// `sort(array, comparer)` and `sort_by`: a stable merge sort whose comparer's errors and
/// timeouts are the rule's errors. (Rhai's own sort ignores a failing comparer and sorts by
/// type instead, so a rule that throws or runs out of time in one would end with no error.)
fn sort_by(
    ctx: &NativeCallContext,
    array: &mut Array,
    comparer: &FnPtr,
) -> Result<(), Box<EvalAltResult>> {
    let cmp = |a: &Dynamic, b: &Dynamic| -> Result<bool, Box<EvalAltResult>> {
        let v = comparer.call_within_context::<Dynamic>(ctx, (a.clone(), b.clone()))?;
        // As Rhai documents it: a number (> 0: greater) or a bool (true: less).
        if let Ok(n) = v.as_int() {
            return Ok(n > 0);
        }
        v.as_bool().map(|less| !less).map_err(|t| {
            format!("the sort comparer returned a `{t}`, not a number or a bool").into()
        })
    };
    let items = std::mem::take(array);
    let mut runs: Vec<Vec<Dynamic>> = items.into_iter().map(|x| vec![x]).collect();
    // Bottom-up: merge neighbouring runs until one is left. No comparison order can make it
    // fail or loop: a comparer that is not a total order only gives an odd order.
    while runs.len() > 1 {
        let mut merged = Vec::with_capacity(runs.len().div_ceil(2));
        let mut it = runs.into_iter();
        while let Some(left) = it.next() {
            let Some(right) = it.next() else {
                merged.push(left);
                break;
            };
            let mut out = Vec::with_capacity(left.len() + right.len());
            let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
            while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
                let next = if cmp(a, b)? { r.next() } else { l.next() };
                out.extend(next);
            }
            out.extend(l);
            out.extend(r);
            merged.push(out);
        }
        runs = merged;
    }
    *array = runs.pop().unwrap_or_default();
    Ok(())
}

/// `dedup(array, comparer)`: Rhai's own ignores a failing comparer; here its errors count.
fn dedup_by(
    ctx: &NativeCallContext,
    array: &mut Array,
    comparer: &FnPtr,
) -> Result<(), Box<EvalAltResult>> {
    let items = std::mem::take(array);
    for x in items {
        let same = match array.last() {
            Some(last) => comparer
                .call_within_context::<Dynamic>(ctx, (last.clone(), x.clone()))?
                .as_bool()
                .map_err(|t| format!("the dedup comparer returned a `{t}`, not a bool"))?,
            None => false,
        };
        if !same {
            array.push(x);
        }
    }
    Ok(())
}

/// A Markdown code span around `text`: one backtick each side, or (CommonMark) a longer fence
/// with spaces when the text itself holds backticks, so the span cannot end early.
pub(crate) fn code(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    if longest == 0 {
        return format!("`{text}`");
    }
    let fence = "`".repeat(longest + 1);
    format!("{fence} {text} {fence}")
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("is_cidr", |s: &str| parse_cidr(s).is_some());
    engine.register_fn(
        "cidr_covered",
        |list: Array, cidr: &str| -> Result<bool, Box<EvalAltResult>> {
            let inner = parse_cidr(cidr).ok_or_else(|| format!("`{cidr}` is not an IPv4 CIDR"))?;
            let nets: Vec<Ipv4Net> = list
                .iter()
                .filter_map(|v| parse_cidr(&v.to_string()))
                .collect();
            Ok(covered(&nets, &inner))
        },
    );
    let max_string = engine.max_string_size();
    engine.register_fn("join", move |list: Array, sep: &str| {
        join(&list, sep, max_string)
    });
    for name in ["sort", "sort_by"] {
        engine.register_fn(name, |ctx: NativeCallContext, a: &mut Array, f: FnPtr| {
            sort_by(&ctx, a, &f)
        });
    }
    engine.register_fn(
        "dedup",
        |ctx: NativeCallContext, a: &mut Array, f: FnPtr| dedup_by(&ctx, a, &f),
    );
    // `code(x)` puts a value in backticks for messages, so rules need no ```` `` ```` escapes;
    // an array becomes a comma-separated list of code spans.
    engine.register_fn("code", |x: Dynamic| -> String {
        match x.clone().try_cast::<Array>() {
            Some(items) => items
                .iter()
                .map(|i| code(&i.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            None => code(&x.to_string()),
        }
    });
    engine.register_fn("glob_match", |pattern: &str, text: &str| {
        glob_match_metered(pattern, text, &mut Meter::default())
    });
    engine.register_fn(
        "config_error",
        |message: &str| -> Result<(), Box<EvalAltResult>> {
            Err(format!("{CONFIG_ERROR}{message}").into())
        },
    );
    // A rule that lacks what it needs to decide anything (data, a parameter) says so: reported
    // "not run" with the reason in every format, never a clean pass.
    engine.register_fn(
        "not_run",
        |reason: &str| -> Result<(), Box<EvalAltResult>> {
            Err(format!("{NOT_RUN}{reason}").into())
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_containment() {
        let list = [
            parse_cidr("10.0.0.0/8").unwrap(),
            parse_cidr("192.0.2.0/24").unwrap(),
        ];
        assert!(covered(&list, &parse_cidr("10.1.2.0/24").unwrap()));
        assert!(covered(&list, &parse_cidr("192.0.2.7").unwrap()));
        assert!(!covered(&list, &parse_cidr("192.0.2.0/23").unwrap()));
        assert!(!covered(&list, &parse_cidr("203.0.113.0/24").unwrap()));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("not-a-cidr").is_none());
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("EU Agents"), "`EU Agents`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("``"), "``` `` ```");
        let mut e = rhai::Engine::new();
        register(&mut e);
        assert_eq!(e.eval::<String>(r#"code("x")"#).unwrap(), "`x`");
        assert_eq!(e.eval::<String>(r#"code(["a", "b"])"#).unwrap(), "`a`, `b`");
        assert_eq!(e.eval::<String>("code(42)").unwrap(), "`42`");
    }

    #[test]
    fn globs() {
        assert!(glob_match("svc-*", "SVC-genesys-sync"));
        assert!(glob_match("*service*", "the service account"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("svc-*", "service"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "acbx"));
        assert!(glob_match("?x", "éx"));
        assert!(glob_match("*é*", "aéb"));
    }
}
