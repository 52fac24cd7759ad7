//! The sandboxed Rhai engine: limits, disabled features, confined imports, a wall-clock budget.
//!
//! Rules are untrusted code. Rhai has no file, network or process access unless the host adds
//! it; this module removes the remaining doors (`eval`, imports outside the rule's directory)
//! and bounds work (operations, call depth, expression depth, string/array/map sizes) and time.

use std::cell::{Cell, RefCell};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rhai::module_resolvers::ModuleResolver;
use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Module, Position, Scope};

/// Resource limits for rule scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one rule's run.
    pub budget: Duration,
    /// Most Rhai operations one run may take (0 = no limit besides the budget).
    pub max_operations: u64,
    /// Deepest function call nesting.
    pub max_call_levels: usize,
    /// Deepest expression nesting at global level.
    pub max_expr_depth: usize,
    /// Deepest expression nesting inside functions.
    pub max_function_expr_depth: usize,
    /// Longest string, in bytes.
    pub max_string_size: usize,
    /// Largest array.
    pub max_array_size: usize,
    /// Largest object map.
    pub max_map_size: usize,
    /// How much the process's resident memory may grow during one rule's run, in bytes
    /// (0 = unchecked). A safety net for growth Rhai's size limits do not see, such as
    /// `map[key] = value` in a loop; checked on Linux only.
    pub max_memory: u64,
    /// Most findings one rule may report in one run.
    pub max_findings: usize,
    /// Most bytes of findings text (messages, fixes, evidence; each piece is also cut at 4 KiB)
    /// one rule may report in one run (32 MiB): what `report` in a loop can make is bounded.
    pub max_output_bytes: usize,
    /// Largest rule file read, in bytes.
    pub max_rule_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(10),
            max_operations: 2_000_000_000,
            max_call_levels: 64,
            max_expr_depth: 64,
            max_function_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 1_000_000,
            max_map_size: 100_000,
            max_memory: 2 << 30,
            max_findings: 1_000_000,
            max_output_bytes: 32 << 20,
            max_rule_bytes: 1 << 20,
        }
    }
}

/// Token returned by the progress callback when a run exceeds its budget.
pub(crate) const BUDGET_TOKEN: &str = "rolecall-budget-exceeded";
/// Token returned by the progress callback when a run grows memory past its limit.
pub(crate) const MEMORY_TOKEN: &str = "rolecall-memory-exceeded";
/// Prefix of errors raised by the import resolver.
pub(crate) const IMPORT_ERROR: &str = "rolecall-import-error: ";
/// Most `print`/`debug` lines kept per rule run.
const MAX_LOG_LINES: usize = 200;

/// How to read the bytes the process has allocated, when the program can tell (the CLI installs
/// a counting global allocator and sets this). See [`set_memory_probe`].
static MEMORY_PROBE: OnceLock<fn() -> u64> = OnceLock::new();

/// Give the engine a cheap reading of the bytes this process has allocated, such as a counting
/// global allocator's total. With one, `max_memory` is checked at every script operation and
/// in the host calls that can allocate much (`report`, `join`, glob matching), so a run stops
/// within one operation's growth of its limit. Without one, the resident set size is sampled
/// every 65,536 operations (Linux). The first probe set stays; returns whether this one did.
pub fn set_memory_probe(probe: fn() -> u64) -> bool {
    MEMORY_PROBE.set(probe).is_ok()
}

/// The probe's reading when the outermost running check began (0: none running), and how many
/// checks are running (a rule test runs checks inside a check; the outermost one counts).
static CHECK_BASELINE: AtomicU64 = AtomicU64::new(0);
static CHECKS_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Marks a check as running until dropped, so every rule's memory growth is counted from the
/// check's start: the process's peak stays within `max_memory` of it, however many rules run
/// at once. Without a probe it does nothing (the resident-set sampling stays per rule).
pub(crate) struct CheckMemory;

impl CheckMemory {
    pub(crate) fn start() -> Self {
        if let Some(probe) = MEMORY_PROBE.get() {
            if CHECKS_RUNNING.fetch_add(1, AtomicOrdering::SeqCst) == 0 {
                CHECK_BASELINE.store(probe().max(1), AtomicOrdering::SeqCst);
            }
        }
        Self
    }
}

impl Drop for CheckMemory {
    fn drop(&mut self) {
        if MEMORY_PROBE.get().is_some() && CHECKS_RUNNING.fetch_sub(1, AtomicOrdering::SeqCst) == 1
        {
            CHECK_BASELINE.store(0, AtomicOrdering::SeqCst);
        }
    }
}

thread_local! {
    // Rules run one at a time per thread, so per-thread state is per-run state.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    // The run's memory limit in bytes (0 = none) and the probe's reading when it started.
    static MEMORY_LIMIT: Cell<u64> = const { Cell::new(0) };
    static PROBE_BASELINE: Cell<u64> = const { Cell::new(0) };
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static BASELINE_RSS: Cell<u64> = const { Cell::new(0) };
}

/// Resident set size of this process in bytes, where the platform tells us cheaply: Linux's
/// `VmRSS` line of `/proc/self/status`, which the kernel gives in kB whatever the page size
/// (pages × 4096 from `statm` is wrong on 16K and 64K page kernels). `None` elsewhere.
#[must_use]
pub fn rss_bytes() -> Option<u64> {
    parse_vm_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The most resident memory this process has used so far, in bytes (Linux's `VmHWM`), for
/// `--verbose` summaries and the hostile-rules figures. `None` elsewhere.
#[must_use]
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    parse_vm_rss(&line.replacen("VmHWM:", "VmRSS:", 1))
}

/// Whether `--max-memory` can be enforced here (the process's resident memory can be read).
#[must_use]
pub fn memory_limit_available() -> bool {
    rss_bytes().is_some()
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => value.checked_mul(1024),
        _ => None,
    }
}

/// The error a native function returns when the run's time is up: the same token the
/// progress callback uses, so it is reported as the rule's timeout wherever it happens.
fn budget_error() -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(Dynamic::from(BUDGET_TOKEN), Position::NONE).into()
}

/// Whether the current run's time is up. Host functions whose cost grows with their input
/// ask this in their loops (see [`Meter`]), so the budget holds inside native calls too.
fn out_of_time() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|d| Instant::now() >= d))
}

/// Whether the run has grown memory past its limit, by the probe (never without one: the
/// resident-set sampling belongs to the progress callback, which rations it).
fn over_memory() -> bool {
    let Some(probe) = MEMORY_PROBE.get() else {
        return false;
    };
    let limit = MEMORY_LIMIT.with(Cell::get);
    limit > 0 && probe().saturating_sub(PROBE_BASELINE.with(Cell::get)) > limit
}

/// Fails with the budget error when the run's time is up, or the memory error when it has
/// grown past its memory limit.
pub(crate) fn check_budget() -> Result<(), Box<EvalAltResult>> {
    if over_memory() {
        Err(EvalAltResult::ErrorTerminated(Dynamic::from(MEMORY_TOKEN), Position::NONE).into())
    } else if out_of_time() {
        Err(budget_error())
    } else {
        Ok(())
    }
}

/// Counts the steps of a native loop and reads the clock every [`Meter::EVERY`] of them:
/// cheap enough for inner loops, fine-grained enough that a call stops within milliseconds
/// of the deadline.
#[derive(Debug, Default)]
pub(crate) struct Meter(u32);

impl Meter {
    const EVERY: u32 = 4096;

    /// One step; fails with the budget error when the run's time is up.
    pub(crate) fn tick(&mut self) -> Result<(), Box<EvalAltResult>> {
        self.0 = self.0.wrapping_add(1);
        if self.0.is_multiple_of(Self::EVERY) {
            check_budget()
        } else {
            Ok(())
        }
    }
}

/// Arms the deadline for the current thread until dropped; restores the previous one, so runs
/// nest (a rule test runs rules inside its own budget).
pub(crate) struct RunGuard {
    previous: Option<Instant>,
    previous_log: Vec<String>,
    previous_memory: (u64, u64),
}

impl RunGuard {
    pub(crate) fn start(limits: &Limits) -> Self {
        let previous = DEADLINE.with(|d| d.replace(Instant::now().checked_add(limits.budget)));
        // From the running check's start when there is one, else from this run's.
        let baseline = match CHECK_BASELINE.load(AtomicOrdering::SeqCst) {
            0 => MEMORY_PROBE.get().map_or(0, |p| p()),
            b => b,
        };
        let previous_memory = (
            MEMORY_LIMIT.with(|m| m.replace(limits.max_memory)),
            PROBE_BASELINE.with(|b| b.replace(baseline)),
        );
        let previous_log = LOG.with(|l| std::mem::take(&mut *l.borrow_mut()));
        // The baseline is taken at the first memory check, not here: reading it costs a file
        // read, which would dominate the run time of small rules.
        BASELINE_RSS.with(|b| b.set(0));
        Self {
            previous,
            previous_log,
            previous_memory,
        }
    }
    /// Lines the script printed during this run.
    pub(crate) fn take_log(&self) -> Vec<String> {
        LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.previous));
        MEMORY_LIMIT.with(|m| m.set(self.previous_memory.0));
        PROBE_BASELINE.with(|b| b.set(self.previous_memory.1));
        let previous = std::mem::take(&mut self.previous_log);
        LOG.with(|l| *l.borrow_mut() = previous);
    }
}

fn log_line(line: String) {
    LOG.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < MAX_LOG_LINES {
            l.push(line);
        }
    });
}

/// Build the one engine a process uses for rules.
pub(crate) fn build(limits: &Limits) -> Engine {
    let mut engine = Engine::new();
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_modules(16);
    // `eval` would compile arbitrary code outside the rule's AST, past the checks done at load.
    engine.disable_symbol("eval");
    engine.set_module_resolver(RuleDirResolver);
    engine.on_print(|s| log_line(s.to_owned()));
    engine.on_debug(|s, src, pos| {
        log_line(format!(
            "{}{pos:?}: {s}",
            src.map(|s| format!("{s} ")).unwrap_or_default()
        ))
    });
    let max_memory = limits.max_memory;
    engine.on_progress(move |ops| {
        // The probe is an atomic read, taken every 16 operations: one operation allocates at
        // most about a string's or an array's size limit, so a run stops within tens of MiB
        // of its limit, for a few per cent of run time.
        if ops % 16 == 0 && over_memory() {
            return Some(Dynamic::from(MEMORY_TOKEN));
        }
        // Reading the clock on every operation would cost more than the operation itself.
        if ops == 0 || ops % 1024 != 0 {
            return None;
        }
        if out_of_time() {
            return Some(Dynamic::from(BUDGET_TOKEN));
        }
        // Memory is read less often: a file read every ~64k operations is noise.
        if max_memory > 0 && MEMORY_PROBE.get().is_none() && ops % 65_536 == 0 {
            let now = rss_bytes().unwrap_or(0);
            let base = BASELINE_RSS.with(|b| {
                if b.get() == 0 {
                    b.set(now);
                }
                b.get()
            });
            if now.saturating_sub(base) > max_memory {
                return Some(Dynamic::from(MEMORY_TOKEN));
            }
        }
        None
    });
    super::host::register(&mut engine);
    engine
}

/// Resolves `import "x"` only to `x.rhai` inside the importing rule's own directory.
struct RuleDirResolver;

/// Deepest chain of imports one rule may make.
const MAX_IMPORT_DEPTH: usize = 16;

thread_local! {
    // The modules being imported on this thread, outermost first (rules run one per thread).
    static IMPORTS: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

fn import_error(message: String, pos: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(format!("{IMPORT_ERROR}{message}").into(), pos).into()
}

/// The file an import names, if it is allowed: relative, no `..`, inside `dir`.
pub(crate) fn confined_import(dir: &Path, path: &str) -> Result<PathBuf, String> {
    let rel = Path::new(path);
    if rel.is_absolute() || path.starts_with(['/', '\\']) || path.contains(':') {
        return Err(format!(
            "import of `{path}` is not allowed: imports must be relative to the rule's directory"
        ));
    }
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "import of `{path}` is not allowed: `..` may not leave the rule's directory"
        ));
    }
    let mut file = dir.join(rel);
    if file.extension().is_none() {
        file.set_extension("rhai");
    }
    let canon_dir = dir
        .canonicalize()
        .map_err(|e| format!("cannot read the rule's directory: {e}"))?;
    let canon = file
        .canonicalize()
        .map_err(|_| format!("module `{path}` not found in `{}`", dir.display()))?;
    if !canon.starts_with(&canon_dir) {
        return Err(format!(
            "import of `{path}` is not allowed: it resolves outside the rule's directory"
        ));
    }
    Ok(canon)
}

impl ModuleResolver for RuleDirResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Arc<Module>, Box<EvalAltResult>> {
        let Some(source) = source.filter(|s| !s.starts_with("builtin:")) else {
            return Err(import_error(format!("import of `{path}` is not allowed: built-in rules and rules compiled from strings cannot import"), pos));
        };
        let dir = Path::new(source).parent().unwrap_or(Path::new("."));
        let file = confined_import(dir, path).map_err(|m| import_error(m, pos))?;
        // A module that imports itself, or two that import each other, would recurse until the
        // stack overflows and kill the process: the import stack names the cycle instead.
        let key = file.canonicalize().unwrap_or_else(|_| file.clone());
        let cycle = IMPORTS.with(|stack| {
            let stack = stack.borrow();
            if stack.contains(&key) || stack.len() >= MAX_IMPORT_DEPTH {
                let names: Vec<String> = stack
                    .iter()
                    .chain(std::iter::once(&key))
                    .map(|p| {
                        p.file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                    })
                    .collect();
                Some(names.join(" → "))
            } else {
                None
            }
        });
        if let Some(chain) = cycle {
            return Err(import_error(
                format!("import of `{path}` makes a cycle (or is nested too deep): {chain}"),
                pos,
            ));
        }
        IMPORTS.with(|stack| stack.borrow_mut().push(key.clone()));
        let result = (|| {
            // Only a regular file, read with the rule files' bounds: a FIFO would block the
            // open forever, and a huge helper would slip past the size cap.
            let text = crate::io::read_text_capped(
                &key,
                crate::io::Input::Rule,
                Limits::default().max_rule_bytes,
            )
            .map_err(|e| import_error(format!("cannot import `{path}`: {}", e.reason()), pos))?;
            super::load::check_compile_cost(&text)
                .map_err(|m| import_error(format!("cannot import `{path}`: it has {m}"), pos))?;
            let mut ast = engine.compile(&text)?;
            ast.set_source(file.to_string_lossy().as_ref());
            Module::eval_ast_as_new(Scope::new(), &ast, engine)
        })();
        IMPORTS.with(|stack| stack.borrow_mut().pop());
        Ok(result?.into())
    }
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kilobytes() {
        let status = "Name:\trolecall\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(5120 * 1024));
        assert_eq!(
            parse_vm_rss("VmRSS: 12 MB\n"),
            None,
            "an unknown unit is not guessed"
        );
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        if cfg!(target_os = "linux") {
            let rss = rss_bytes().unwrap();
            assert!(rss > 1 << 20, "a running test uses more than 1 MiB: {rss}");
            assert!(memory_limit_available());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_stay_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("helpers.rhai"), "fn x() { 1 }").unwrap();
        assert!(confined_import(dir.path(), "helpers").is_ok());
        assert!(confined_import(dir.path(), "./helpers.rhai").is_ok());
        assert!(confined_import(dir.path(), "/etc/passwd")
            .unwrap_err()
            .contains("relative"));
        assert!(confined_import(dir.path(), "../x")
            .unwrap_err()
            .contains(".."));
        assert!(confined_import(dir.path(), "missing")
            .unwrap_err()
            .contains("not found"));
    }
}
