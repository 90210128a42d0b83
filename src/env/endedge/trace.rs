//! Trace-driven `endedge`: arrivals and actions from CSV files, per-task results to CSV, run by
//! the host simulator in f64 — the arithmetic of the published Tang & Wong simulator, so the
//! `reference` semantics reproduces its per-task delays and drops exactly (docs/endedge.md).
//!
//! Files: arrivals `slot,device,mbits` (0 Mbit = no task), actions `slot,device,action` (0 local,
//! k server k − 1; only rows for slots with a task are used), results
//! `slot,device,action,delay_slots,unfinished`. An optional header line equal to the column
//! names; blank lines are skipped. Every malformed row is an [`Error::Parse`] naming the file and
//! the line.

use std::path::{Path, PathBuf};

use super::model::{self, Flow, Rates, Real, Terminal, RES_DELAY, RES_DONE};
use super::EndedgeConfig;
use crate::error::{Error, Result};

/// One instance simulated on the host (struct of arrays, terminal outermost).
pub struct HostSim<F> {
    /// D.
    pub devices: usize,
    /// E.
    pub servers: usize,
    /// Rates and deadline.
    pub rates: Rates<F>,
    /// Ring: sizes \[D,W\].
    pub size: Vec<F>,
    /// Ring: remaining Mbit \[D,W\].
    pub rem: Vec<F>,
    /// Ring: arrival slots \[D,W\].
    pub arr: Vec<u32>,
    /// Ring: queue keys \[D,W\].
    pub at: Vec<u32>,
    /// Ring: results \[D,W\].
    pub result: Vec<u32>,
    /// \[D,2\] predicted end slots + 1.
    pub pred: Vec<u32>,
    /// \[D,4\] counters.
    pub acc: Vec<u32>,
    /// Q_e at the end of the last slot \[E\].
    pub m: Vec<u32>,
    /// Run [`model::slot_scalar`] instead of [`model::slot`] (tests compare the two).
    pub scalar: bool,
    active: Vec<u32>,
}

impl<F: Real> HostSim<F> {
    /// Empty queues.
    pub fn new(devices: usize, servers: usize, rates: Rates<F>) -> Self {
        let w = rates.w() as usize;
        HostSim {
            devices,
            servers,
            rates,
            size: vec![F::ZERO; devices * w],
            rem: vec![F::ZERO; devices * w],
            arr: vec![0; devices * w],
            at: vec![0; devices * w],
            result: vec![0; devices * w],
            pred: vec![0; devices * 2],
            acc: vec![0; devices * 4],
            m: vec![0; servers],
            scalar: false,
            active: vec![0; servers.div_ceil(32)],
        }
    }

    /// Slot t: admit the arrivals `eta` (0 = none) with `action`, run every terminal, recount
    /// Q_e. Returns the slot's Mbit flows summed over terminals (terminal order).
    pub fn step(&mut self, t: u32, eta: &[F], action: &[u32]) -> Flow<F> {
        let w = self.rates.w() as usize;
        let mut total = Flow::default();
        let mut m_next = vec![0u32; self.servers];
        for d in 0..self.devices {
            let r = d * w..(d + 1) * w;
            let mut tm = Terminal {
                size: &mut self.size[r.clone()],
                rem: &mut self.rem[r.clone()],
                arr: &mut self.arr[r.clone()],
                at: &mut self.at[r.clone()],
                result: &mut self.result[r],
                pred: &mut self.pred[2 * d..2 * d + 2],
                acc: &mut self.acc[4 * d..4 * d + 4],
            };
            if eta[d] > F::ZERO {
                model::admit(&mut tm, t, eta[d], action[d], &self.rates);
            }
            let mut f = Flow::default();
            if self.scalar {
                model::slot_scalar(&mut tm, t, &self.m, &self.rates, &mut f);
            } else {
                model::slot(&mut tm, t, (t + 1) % self.rates.w(), &self.m, &self.rates, &mut f);
            }
            total.computed = total.computed + f.computed;
            total.dropped = total.dropped + f.dropped;
            model::mark_active(tm.at, &mut self.active);
            for (k, &word) in self.active.iter().enumerate() {
                let mut x = word;
                while x != 0 {
                    m_next[k * 32 + x.trailing_zeros() as usize] += 1;
                    x &= x - 1;
                }
            }
        }
        self.m = m_next;
        total
    }

    /// Mbit of computation still queued (a task in the transmit FIFO counts its whole size).
    pub fn queued(&self) -> F {
        let mut q = F::ZERO;
        for k in 0..self.at.len() {
            match model::kind(self.at[k]) {
                0 => {}
                model::KIND_TRAN => q = q + self.size[k],
                _ => q = q + self.rem[k],
            }
        }
        q
    }
}

/// The outcome of one task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskResult {
    /// Arrival slot.
    pub slot: u32,
    /// Terminal.
    pub device: u32,
    /// Action taken.
    pub action: u32,
    /// Delay in slots (τ when dropped; T − slot when unfinished at the horizon).
    pub delay: u32,
    /// Dropped or unfinished.
    pub unfinished: bool,
}

/// One task of a trace: its arrival slot, terminal, size and action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Task {
    /// Arrival slot.
    pub slot: u32,
    /// Terminal.
    pub device: u32,
    /// Size in Mbit (> 0).
    pub mbits: f64,
    /// Action (0 local, k server k − 1).
    pub action: u32,
}

/// Simulate `slots` slots of one instance in f64 with dense arrivals \[T\]\[D\] (Mbit, 0 = none)
/// and actions \[T\]\[D\]; one result per task, in (slot, device) order.
pub fn simulate(cfg: &EndedgeConfig, eta: &[Vec<f64>], action: &[Vec<u32>]) -> Vec<TaskResult> {
    let mut tasks = vec![];
    for (t, (e, a)) in eta.iter().zip(action).enumerate().take(cfg.slots) {
        for (d, (&mbits, &action)) in e.iter().zip(a).enumerate() {
            if mbits > 0.0 {
                tasks.push(Task { slot: t as u32, device: d as u32, mbits, action });
            }
        }
    }
    simulate_tasks(cfg, &tasks, &mut |_| {})
}

/// Simulate `slots` slots of one instance in f64 with `tasks` sorted by (slot, device): memory
/// grows with the terminals and the tasks, never with slots × terminals. One result per task,
/// in (slot, device) order; `tick(1)` after each slot.
pub fn simulate_tasks(cfg: &EndedgeConfig, tasks: &[Task], tick: &mut dyn FnMut(u64)) -> Vec<TaskResult> {
    let rates = cfg.rates_f64();
    let (d, tau, w) = (cfg.devices, rates.tau, rates.w() as usize);
    let mut sim = HostSim::new(d, cfg.servers, rates);
    let mut out = Vec::with_capacity(tasks.len());
    let mut pending: std::collections::VecDeque<(u32, u32, u32)> = Default::default();
    let collect = |sim: &HostSim<f64>, (slot, dev, act): (u32, u32, u32), horizon: Option<u32>| {
        let k = dev as usize * w + slot as usize % w;
        let r = sim.result[k];
        if r == 0 {
            let t = horizon.expect("a task resolves within τ + 1 slots");
            TaskResult { slot, device: dev, action: act, delay: t - slot, unfinished: true }
        } else {
            TaskResult { slot, device: dev, action: act, delay: r & RES_DELAY, unfinished: r & !RES_DELAY != RES_DONE }
        }
    };
    let (mut eta, mut action) = (vec![0.0f64; d], vec![0u32; d]);
    let mut next = 0;
    for t in 0..cfg.slots as u32 {
        let first = next;
        while next < tasks.len() && tasks[next].slot == t {
            let k = tasks[next];
            (eta[k.device as usize], action[k.device as usize]) = (k.mbits, k.action);
            pending.push_back((t, k.device, k.action));
            next += 1;
        }
        sim.step(t, &eta, &action);
        for k in &tasks[first..next] {
            (eta[k.device as usize], action[k.device as usize]) = (0.0, 0);
        }
        while let Some(&p) = pending.front() {
            if p.0 + tau > t {
                break;
            }
            out.push(collect(&sim, p, None));
            pending.pop_front();
        }
        tick(1);
    }
    for p in pending {
        out.push(collect(&sim, p, Some(cfg.slots as u32)));
    }
    out
}

fn parse_err(path: &Path, line: usize, why: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), line, why: why.into() }
}

/// Each row (line number, three fields) of a 3-column CSV with the given optional header, read
/// line by line (a UTF-8 byte-order mark before the first line is skipped).
fn for_rows(path: &Path, header: &str, f: &mut dyn FnMut(usize, [&str; 3]) -> Result<()>) -> Result<()> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    let (mut buf, mut i, mut any) = (String::new(), 0usize, false);
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => parse_err(path, i + 1, "not UTF-8 text"),
            _ => Error::io(path, e),
        })?;
        if n == 0 {
            return Ok(());
        }
        i += 1;
        let l = if i == 1 { buf.trim_start_matches('\u{feff}') } else { &buf }.trim();
        if l.is_empty() || (!any && l.replace(' ', "") == header) {
            continue;
        }
        any = true;
        let mut it = l.split(',').map(str::trim);
        let (a, b, c) = (it.next(), it.next(), it.next());
        let extra = it.count();
        match (a, b, c) {
            (Some(a), Some(b), Some(c)) if extra == 0 => f(i, [a, b, c])?,
            _ => {
                let got = l.split(',').count();
                return Err(parse_err(path, i, format!("expected 3 fields `{header}`, got {got}")));
            }
        }
    }
}

fn index(path: &Path, line: usize, name: &str, s: &str, below: usize) -> Result<usize> {
    let v: usize =
        s.parse().map_err(|_| parse_err(path, line, format!("{name} `{s}` is not a non-negative integer")))?;
    if v >= below {
        return Err(parse_err(path, line, format!("{name} {v} out of range (must be < {below})")));
    }
    Ok(v)
}

/// A parsed trace: its tasks (arrivals of more than 0 Mbit with their actions), sorted by
/// (slot, device).
pub struct Trace {
    /// The tasks.
    pub tasks: Vec<Task>,
}

/// Rows keyed by (slot, device) with their line: sorted, and a key given twice is an error at
/// the second line (the earliest such line of the file).
fn sorted_unique<T: Copy>(
    path: &Path,
    what: &str,
    mut rows: Vec<(u32, u32, T, usize)>,
) -> Result<Vec<(u32, u32, T, usize)>> {
    rows.sort_by_key(|r| (r.0, r.1, r.3));
    let dup = rows.windows(2).filter(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1)).min_by_key(|w| w[1].3);
    if let Some(w) = dup {
        return Err(parse_err(
            path,
            w[1].3,
            format!("second {what} for slot {} device {} (first on line {})", w[0].0, w[0].1, w[0].3),
        ));
    }
    Ok(rows)
}

/// Read and check the arrivals and actions files for `cfg` (D, E, T).
pub fn read_trace(cfg: &EndedgeConfig, arrivals: &Path, actions: &Path) -> Result<Trace> {
    let (t_max, d_max, e_max) = (cfg.slots, cfg.devices, cfg.servers);
    let mut arr = vec![];
    for_rows(arrivals, "slot,device,mbits", &mut |line, [s, d, x]| {
        let (s, d) = (index(arrivals, line, "slot", s, t_max)?, index(arrivals, line, "device", d, d_max)?);
        let v: f64 = x.parse().map_err(|_| parse_err(arrivals, line, format!("mbits `{x}` is not a number")))?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(parse_err(arrivals, line, format!("mbits {v} must be finite and >= 0")));
        }
        arr.push((s as u32, d as u32, v, line));
        Ok(())
    })?;
    let arr = sorted_unique(arrivals, "arrival", arr)?;
    let mut act = vec![];
    for_rows(actions, "slot,device,action", &mut |line, [s, d, a]| {
        let (s, d) = (index(actions, line, "slot", s, t_max)?, index(actions, line, "device", d, d_max)?);
        let a = index(actions, line, "action", a, e_max + 1)?;
        act.push((s as u32, d as u32, a as u32, line));
        Ok(())
    })?;
    let act = sorted_unique(actions, "action", act)?;
    let mut tasks = Vec::with_capacity(arr.len());
    let mut missing: Option<(u32, u32, usize)> = None;
    for &(slot, device, mbits, line) in arr.iter().filter(|r| r.2 > 0.0) {
        match act.binary_search_by_key(&(slot, device), |r| (r.0, r.1)) {
            Ok(k) => tasks.push(Task { slot, device, mbits, action: act[k].2 }),
            Err(_) if missing.is_none_or(|m| line < m.2) => missing = Some((slot, device, line)),
            Err(_) => {}
        }
    }
    if let Some((s, d, line)) = missing {
        return Err(parse_err(
            arrivals,
            line,
            format!("no action for the task of slot {s} device {d} in {}", actions.display()),
        ));
    }
    Ok(Trace { tasks })
}

/// Write `results` as CSV to `out` (by the rule of [`crate::output`]: a regular file is replaced
/// through a temporary sibling, a device is written through, a directory refused).
pub fn write_results(out: &Path, results: &[TaskResult]) -> Result<()> {
    let mut text = String::from("slot,device,action,delay_slots,unfinished\n");
    for r in results {
        text.push_str(&format!("{},{},{},{},{}\n", r.slot, r.device, r.action, r.delay, r.unfinished as u8));
    }
    crate::output::write_output(out, "--out", text.as_bytes())
}

/// What a trace run allocates: the simulator's rings (D · W · 28 B), and per row of the input
/// files (a row takes at least 6 bytes) its parsed task, its result and its CSV line.
pub fn memory(cfg: &EndedgeConfig, arrivals: &Path, actions: &Path) -> Result<crate::memory::Need> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() as u128).map_err(|e| Error::io(p, e));
    let w = cfg.deadline_slots as u128 + 1;
    let mut need = crate::memory::Need::new();
    need.add("--devices", cfg.devices, "simulator state", (cfg.devices as u128).saturating_mul(w * 28 + 56));
    need.add("--arrivals", arrivals.display(), "tasks, results and output", size(arrivals)? / 6 * 128);
    need.add("--actions", actions.display(), "actions", size(actions)? / 6 * 24);
    Ok(need)
}

/// The whole trace command: read, simulate (`tick(1)` per slot), write. Returns the results.
pub fn run_trace(
    cfg: &EndedgeConfig,
    arrivals: &Path,
    actions: &Path,
    out: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<Vec<TaskResult>> {
    cfg.validate()?;
    crate::output::check_writable(out, "--out")?;
    memory(cfg, arrivals, actions)?.check()?;
    let tr = read_trace(cfg, arrivals, actions)?;
    let res = simulate_tasks(cfg, &tr.tasks, tick);
    write_results(out, &res)?;
    Ok(res)
}

/// Arguments of `mecrl endedge trace` (the system is [`EndedgeConfig::reference`] with these).
#[derive(Clone, Debug, clap::Args)]
pub struct TraceArgs {
    /// Arrivals CSV `slot,device,mbits`.
    #[arg(long)]
    pub arrivals: PathBuf,
    /// Actions CSV `slot,device,action` (the `fixed` policy).
    #[arg(long)]
    pub actions: PathBuf,
    /// D, terminals.
    #[arg(long, default_value_t = 50)]
    pub devices: usize,
    /// E, edge servers.
    #[arg(long, default_value_t = 5)]
    pub servers: usize,
    /// T, slots simulated.
    #[arg(long, default_value_t = 110)]
    pub slots: usize,
    /// τ, deadline in slots.
    #[arg(long, default_value_t = 10)]
    pub deadline: u32,
    /// `reference` (the published simulator) or `paper`.
    #[arg(long, default_value = "reference")]
    pub semantics: String,
    /// Results CSV (written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

impl TraceArgs {
    /// The system these arguments describe.
    pub fn config(&self) -> Result<EndedgeConfig> {
        let cfg = EndedgeConfig {
            devices: self.devices,
            servers: self.servers,
            slots: self.slots,
            tail_slots: 0,
            deadline_slots: self.deadline,
            semantics: self.semantics.parse()?,
            ..EndedgeConfig::reference()
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Run the trace (`tick(1)` per slot); returns the number of tasks written.
    pub fn run(&self, tick: &mut dyn FnMut(u64)) -> Result<usize> {
        Ok(run_trace(&self.config()?, &self.arrivals, &self.actions, &self.out, tick)?.len())
    }
}
