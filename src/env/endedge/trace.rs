//! Trace-driven `endedge`: arrivals and actions from CSV files, per-task results to CSV, run by
//! the host simulator in f64 — the arithmetic of the published Tang & Wong simulator, so the
//! `reference` semantics reproduces its per-task delays and drops exactly (docs/endedge.md).
//!
//! Files: arrivals `slot,device,mbits` (0 Mbit = no task), actions `slot,device,action` (0 local,
//! k server k − 1; only rows for slots with a task are used), results
//! `slot,device,action,delay_slots,unfinished`. An optional header line equal to the column
//! names; blank lines are skipped. Every malformed row is an [`Error::Parse`] naming the file and
//! the line.

use std::collections::HashMap;
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

/// Simulate `slots` slots of one instance in f64 with arrivals \[T\]\[D\] (Mbit) and actions \[T\]\[D\];
/// one result per task, in (slot, device) order.
pub fn simulate(cfg: &EndedgeConfig, eta: &[Vec<f64>], action: &[Vec<u32>]) -> Vec<TaskResult> {
    let rates = cfg.rates_f64();
    let (d, tau, w) = (cfg.devices, rates.tau, rates.w() as usize);
    let mut sim = HostSim::new(d, cfg.servers, rates);
    let mut out = Vec::new();
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
    for t in 0..cfg.slots as u32 {
        let (e, a) = (&eta[t as usize], &action[t as usize]);
        for dev in 0..d {
            if e[dev] > 0.0 {
                pending.push_back((t, dev as u32, a[dev]));
            }
        }
        sim.step(t, e, a);
        while let Some(&p) = pending.front() {
            if p.0 + tau > t {
                break;
            }
            out.push(collect(&sim, p, None));
            pending.pop_front();
        }
    }
    for p in pending {
        out.push(collect(&sim, p, Some(cfg.slots as u32)));
    }
    out
}

fn parse_err(path: &Path, line: usize, why: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), line, why: why.into() }
}

/// Rows (line number, three fields) of a 3-column CSV with the given header.
fn rows(path: &Path, header: &str) -> Result<Vec<(usize, [String; 3])>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || (out.is_empty() && l.replace(' ', "") == header) {
            continue;
        }
        let f: Vec<&str> = l.split(',').map(str::trim).collect();
        if f.len() != 3 {
            return Err(parse_err(path, i + 1, format!("expected 3 fields `{header}`, got {}", f.len())));
        }
        out.push((i + 1, [f[0].to_string(), f[1].to_string(), f[2].to_string()]));
    }
    Ok(out)
}

fn index(path: &Path, line: usize, name: &str, s: &str, below: usize) -> Result<usize> {
    let v: usize =
        s.parse().map_err(|_| parse_err(path, line, format!("{name} `{s}` is not a non-negative integer")))?;
    if v >= below {
        return Err(parse_err(path, line, format!("{name} {v} out of range (must be < {below})")));
    }
    Ok(v)
}

/// A parsed trace: arrivals \[T\]\[D\] and actions \[T\]\[D\].
pub struct Trace {
    /// Mbit per slot and terminal.
    pub eta: Vec<Vec<f64>>,
    /// Action per slot and terminal.
    pub action: Vec<Vec<u32>>,
}

/// Read and check the arrivals and actions files for `cfg` (D, E, T).
pub fn read_trace(cfg: &EndedgeConfig, arrivals: &Path, actions: &Path) -> Result<Trace> {
    let (t_max, d_max, e_max) = (cfg.slots, cfg.devices, cfg.servers);
    let mut eta = vec![vec![0.0f64; d_max]; t_max];
    let mut line_of = HashMap::new();
    for (line, [s, d, x]) in rows(arrivals, "slot,device,mbits")? {
        let (s, d) = (index(arrivals, line, "slot", &s, t_max)?, index(arrivals, line, "device", &d, d_max)?);
        let v: f64 = x.parse().map_err(|_| parse_err(arrivals, line, format!("mbits `{x}` is not a number")))?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(parse_err(arrivals, line, format!("mbits {v} must be finite and >= 0")));
        }
        if let Some(prev) = line_of.insert((s, d), line) {
            return Err(parse_err(
                arrivals,
                line,
                format!("second arrival for slot {s} device {d} (first on line {prev})"),
            ));
        }
        eta[s][d] = v;
    }
    let mut action = vec![vec![0u32; d_max]; t_max];
    let mut seen = HashMap::new();
    for (line, [s, d, a]) in rows(actions, "slot,device,action")? {
        let (s, d) = (index(actions, line, "slot", &s, t_max)?, index(actions, line, "device", &d, d_max)?);
        let a = index(actions, line, "action", &a, e_max + 1)?;
        if let Some(prev) = seen.insert((s, d), line) {
            return Err(parse_err(
                actions,
                line,
                format!("second action for slot {s} device {d} (first on line {prev})"),
            ));
        }
        action[s][d] = a as u32;
    }
    let mut missing: Vec<_> = line_of.iter().filter(|(k, _)| eta[k.0][k.1] > 0.0 && !seen.contains_key(*k)).collect();
    missing.sort_by_key(|(_, &l)| l);
    if let Some(((s, d), &line)) = missing.first() {
        return Err(parse_err(
            arrivals,
            line,
            format!("no action for the task of slot {s} device {d} in {}", actions.display()),
        ));
    }
    Ok(Trace { eta, action })
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

/// The whole trace command: read, simulate, write. Returns the results.
pub fn run_trace(cfg: &EndedgeConfig, arrivals: &Path, actions: &Path, out: &Path) -> Result<Vec<TaskResult>> {
    cfg.validate()?;
    crate::output::check_writable(out, "--out")?;
    let tr = read_trace(cfg, arrivals, actions)?;
    let res = simulate(cfg, &tr.eta, &tr.action);
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

    /// Run the trace; returns the number of tasks written.
    pub fn run(&self) -> Result<usize> {
        Ok(run_trace(&self.config()?, &self.arrivals, &self.actions, &self.out)?.len())
    }
}
