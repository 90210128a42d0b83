//! `mecrl bench dag`: the exhaustive optimum of n-task DAGs (branch and bound, and every plan
//! through the batched makespan kernel on each backend) and the batched makespan of many plans,
//! next to a plain-Python scheduler and numpy (`tools/bench_dag_python.py`), whose makespans
//! every backend's must match.

use std::time::Instant;

use super::common::{backends, interpreter, median, number, ratio_text, reference, Stat};
use crate::backend;
use crate::env::dag::kernels::DAG_MAKESPAN;
use crate::env::dag::{batch, dot, gen, model, optimal};
use crate::error::{Error, Result};

/// The reference.
const SCRIPT: &str = "bench_dag_python.py";

/// Arguments of `mecrl bench dag`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Tasks per graph.
    #[arg(long, default_value_t = 20)]
    pub n: usize,
    /// Graphs (generated with seeds 0..graphs; medians over them).
    #[arg(long, default_value_t = 5)]
    pub graphs: u32,
    /// Plans the Python reference evaluates per graph (its rate is extrapolated to 2^n).
    #[arg(long, default_value_t = 20_000)]
    pub python_plans: usize,
    /// Skip the Python reference.
    #[arg(long)]
    pub no_reference: bool,
    /// Plans per graph of the batched makespan measurement.
    #[arg(long, default_value_t = 65_536)]
    pub plans: usize,
    /// Backends to measure, comma-separated (cpu, wgpu, cuda; unavailable ones are skipped).
    #[arg(long, default_value = "cpu,wgpu,cuda")]
    pub backends: String,
}

/// Run the benchmark and print its report.
pub fn run(a: &Args) -> Result<()> {
    let cfg = gen::DagGenConfig { n: a.n, ..Default::default() };
    let sys = model::DagSystem::default();
    if a.n > 24 {
        return Err(Error::config("--n", a.n, "the exhaustive optimum takes at most 24 tasks"));
    }
    let backends = backends(&a.backends, "dag");
    let py = interpreter(None);
    let python = |args: &[&str]| reference(&py, SCRIPT, args);
    let tmp = std::env::temp_dir().join(format!("mecrl-bench-dag-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let nb = backends.len();
    let (mut t_bb, mut t_all, mut t_py) = (vec![], vec![vec![]; nb], vec![]);
    let (mut r_mk, mut r_np) = (vec![vec![]; nb], vec![]);
    let mut bound_mk = vec![(0u64, 1.0f64); nb];
    let mut bound_all = vec![(0u64, 1.0f64); nb];
    let plans = a.plans;
    for g in 0..a.graphs {
        let dag = gen::generate(&cfg, 0, g)?;
        let p = model::Prepared::new(&dag, &sys)?;
        // branch and bound (the CLI's Optimal)
        let mut ts = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            std::hint::black_box(p.optimal(24)?);
            ts.push(t.elapsed().as_secs_f64());
        }
        t_bb.push(median(ts));
        // every plan evaluated by the batched kernels, per backend
        for (k, be) in backends.iter().enumerate() {
            let mut ts = vec![];
            let bound0 = be.bound_bytes();
            for _ in 0..3 {
                let t = Instant::now();
                std::hint::black_box(optimal::optimal_batch(&**be, std::slice::from_ref(&p))?);
                ts.push(t.elapsed().as_secs_f64());
            }
            t_all[k].push(median(ts));
            bound_all[k] = (be.bound_bytes() - bound0, 3.0 * (1u64 << a.n) as f64 * a.n as f64);
        }
        // batched makespan of `plans` plans (index q·2654435761 mod 2^n), per backend
        let b = batch::DagBatch::new(std::slice::from_ref(&p))?;
        let n = b.n_max;
        let idx = |q: usize| (q as u64 * 2_654_435_761) % (1u64 << n);
        let plan_words: Vec<u32> =
            (0..plans).flat_map(|q| (0..n).map(move |k| ((idx(q) >> (n - 1 - k)) & 1) as u32)).collect();
        let params = b.params(model::Semantics::Reference, plans, 1);
        let mut sums = vec![];
        for (k, be) in backends.iter().enumerate() {
            let cost: Vec<u32> = b.cost.iter().map(|x| x.to_bits()).collect();
            let bufs = [&b.n_tasks[..], &cost, &b.par_off, &b.par_idx, &b.exit, &plan_words]
                .iter()
                .map(|v| be.upload(v))
                .collect::<Result<Vec<_>>>()?;
            let (ft, out) = (be.alloc(plans * n * 4)?, be.alloc(plans)?);
            let mut refs: Vec<&crate::Buffer> = bufs.iter().collect();
            refs.extend([&ft, &out]);
            let mut ts = vec![];
            let bound0 = be.bound_bytes();
            for _ in 0..5 {
                let t = Instant::now();
                be.launch(&DAG_MAKESPAN, bytemuck::bytes_of(&params), plans as u32, &refs)?;
                be.sync()?;
                ts.push(t.elapsed().as_secs_f64());
            }
            r_mk[k].push((plans * n) as f64 / median(ts));
            bound_mk[k] = (be.bound_bytes() - bound0, (5 * plans * n) as f64);
            let m = backend::download_f32(&**be, &out)?;
            sums.push((be.kind().to_string(), m.iter().map(|&x| x as f64).sum::<f64>()));
        }
        if !a.no_reference {
            let f = tmp.join(format!("g{g}.gv"));
            dot::write_dot_file(&dag, &f)?;
            let j = python(&[f.to_str().unwrap_or_default(), "--plans", &a.python_plans.to_string()])?;
            t_py.push((1u64 << a.n) as f64 / number(&j, "plans_per_s", SCRIPT)?);
            let j = python(&[f.to_str().unwrap_or_default(), "--numpy-plans", &plans.to_string()])?;
            r_np.push(number(&j, "np_plan_tasks_per_s", SCRIPT)?);
            let want = number(&j, "np_sum", SCRIPT)?;
            for (kind, got) in &sums {
                if (got - want).abs() > 1e-5 * want.abs() {
                    return Err(Error::device(kind, format!("graph {g}: makespans sum to {got}, numpy to {want}")));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let bb = median(t_bb.clone());
    println!(
        "mecrl bench dag  n={} graphs={}  (reference semantics, 7 Mbps; medians over graphs, each graph timed \
         on every side in turn)",
        a.n, a.graphs
    );
    println!("{:<60} {:>12}", "exhaustive Optimal, one graph (2^n plans)", "median (s)");
    println!("{:<60} {:>12.5}", "mecrl cpu, branch and bound (f64; the CLI's Optimal)", bb);
    for (k, be) in backends.iter().enumerate() {
        let t = median(t_all[k].clone());
        let rate = (1u64 << a.n) as f64 * a.n as f64 / t / 1e6;
        println!(
            "{:<60} {:>12.5}   ({rate:.0} M plan-tasks/s)",
            format!("mecrl {}, every plan (f32 kernel)", be.kind()),
            t
        );
        if be.kind() == crate::backend::BackendKind::Cpu {
            // the plans are enumerated in registers from the plan index: the launches bind only
            // the graph, so the kernel's limit is its arithmetic, not a memory bandwidth
            let (bytes, units) = bound_all[k];
            let threads = crate::backend::par::threads() as f64;
            println!(
                "  roofline: {:.0} B bound per search, {:.4} B per plan-task: compute-bound, {:.2} ns per \
                 plan-task per thread",
                bytes as f64 / 3.0,
                bytes as f64 / units,
                1e3 * threads / rate
            );
        }
    }
    if !t_py.is_empty() {
        let ratios = Stat::of(t_py.iter().zip(&t_bb).map(|(p, b)| p / b).collect());
        println!("{:<60} {:>12.3}", "plain Python, every plan (extrapolated to 2^n)", median(t_py));
        println!("ratio Python / mecrl branch and bound, graph by graph: {}", ratio_text(ratios));
    }
    println!("\n{:<60} {:>12}", format!("batched makespan, {plans} plans of one graph"), "M plan-tasks/s");
    for (k, be) in backends.iter().enumerate() {
        let rate = median(r_mk[k].clone());
        println!("{:<60} {:>12.1}", format!("mecrl {} (dag_makespan kernel)", be.kind()), rate / 1e6);
        if be.kind() == crate::backend::BackendKind::Cpu {
            let (bytes, units) = bound_mk[k];
            println!("  {}", super::roofline::bound_line(bytes, units, 5, rate));
        }
    }
    if !r_np.is_empty() {
        let np = median(r_np.clone());
        println!("{:<60} {:>12.1}", "numpy, vectorized over the plans (f64)", np / 1e6);
        for (k, be) in backends.iter().enumerate() {
            let ratios = Stat::of(r_mk[k].iter().zip(&r_np).map(|(m, p)| m / p).collect());
            println!("ratio mecrl {} / numpy, graph by graph: {}", be.kind(), ratio_text(ratios));
        }
        println!("(every backend's makespans summed match numpy's to 1e-5)");
    }
    Ok(())
}
