//! `mecrl bench <system>`: throughput of each system next to a reference implementation run
//! in the same invocation, one module per system, each with its arguments ([`clap::Args`]) and
//! a `run` that prints the report after a line naming the machine ([`roofline::Machine`]).
//! What they share is in [`common`]; the ceilings they report fractions of in [`roofline`].

use crate::error::Result;

pub mod common;
pub mod coop;
pub mod crbdrqn;
pub mod crowd;
pub mod dag;
pub mod endedge;
pub mod mappo;
pub mod mec;
pub mod mrlco;
pub mod nn;
pub mod o2o;
pub mod roofline;

/// The benchmarks of `mecrl bench`.
#[derive(clap::Subcommand)]
pub enum Cmd {
    /// `coop`: node-slots per second (heuristic + step, whole episodes) next to plain Python.
    Coop(coop::Args),
    /// `mec`: IoTD-objective evaluations per second and the Lévy search time.
    Mec(mec::Args),
    /// `dag`: the exhaustive optimum of n-task DAGs (every plan, and branch-and-bound) next to
    /// a plain-Python scheduler.
    Dag(dag::Args),
    /// `endedge`: device-slots per second (D = 50, E = 5 and D = 10,000, E = 50) next to a
    /// plain-Python implementation of the same slot.
    Endedge(endedge::Args),
    /// `crowd`: agent-slots per second of the batched step next to a plain-Python step.
    Crowd(crowd::Args),
    /// `nn`: training steps of small MLP ensembles next to JAX (XLA, CPU) in the same run.
    Nn(nn::Args),
    /// `mrlco`: one PPO update of MRLCO's Seq2Seq policy (and its sampling decode) next to JAX
    /// (XLA, CPU) in the same run.
    Mrlco(mrlco::Args),
    /// `mappo`: one mixed-MAPPO update (recurrent actor over every agent, five recurrent
    /// critics; a rollout of at least 100,000 agent-steps) next to JAX-CPU.
    Mappo(mappo::Args),
    /// `o2o`: one O2O-DRL offline gradient step (discrete SAC + CQL, batch 128 and 1024) next
    /// to the same step in JAX-CPU.
    O2o(o2o::Args),
    /// `crbdrqn`: one CRB-DRQN training step (familiarity sampling, double-DQN target, LSTM
    /// over Load(t), dueling head, RMSProp) at K = 4 and 256 trajectories next to JAX-CPU.
    Crbdrqn(crbdrqn::Args),
    /// `roofline`: this machine's memory bandwidth (STREAM triad), FMA throughput and
    /// indexed-load rate, the ceilings the other benchmarks report their fractions of.
    Roofline(roofline::Args),
}

/// Run one benchmark after a line naming the machine it runs on.
pub fn run(cmd: &Cmd) -> Result<()> {
    println!("{}", roofline::Machine::describe());
    match cmd {
        Cmd::Coop(a) => coop::run(a),
        Cmd::Mec(a) => mec::run(a),
        Cmd::Dag(a) => dag::run(a),
        Cmd::Endedge(a) => endedge::run(a),
        Cmd::Crowd(a) => crowd::run(a),
        Cmd::Nn(a) => nn::run(a),
        Cmd::Mrlco(a) => mrlco::run(a),
        Cmd::Mappo(a) => mappo::run(a),
        Cmd::Crbdrqn(a) => crbdrqn::run(a),
        Cmd::O2o(a) => o2o::run(a),
        Cmd::Roofline(a) => roofline::run(a),
    }
}
