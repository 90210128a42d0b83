//! Neural-network modules built only from the ops of [`crate::ops`] through the
//! [`crate::autograd`] tape, and the optimizers.

pub mod checkpoint;
pub mod heads;
pub mod init;
pub mod mlp;
pub mod optim;
pub mod rnn;
pub mod seq2seq;

pub use heads::DuelingHead;
pub use mlp::Mlp;
pub use optim::{OptimConfig, Optimizer, Schedule};
pub use rnn::{Gru, Lstm, LstmOverHistory};
pub use seq2seq::{Decode, Seq2Seq, Seq2SeqConfig, Seq2SeqOutput, Seq2SeqRollout};
