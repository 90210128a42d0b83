//! Progress of a long command: a live bar on a terminal, periodic plain lines in a log.
//!
//! Sweeps and cluster jobs read logs, not terminals; a bar drawn with cursor movements is
//! hidden there, and a command would stay silent until it ends. When stderr is not a terminal,
//! [`Progress`] writes one line when the work starts, one each time another tenth is done (at
//! most one per [`LINE_MIN_S`] seconds, so a short job writes only its first and last line) or
//! [`LINE_EVERY_S`] seconds have passed, and one at the end:
//! `reproduce dirs: 37/120 (30 %), 21.4 s elapsed, ~50 s left`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Longest silence between two progress lines in a log, seconds.
pub const LINE_EVERY_S: u64 = 30;
/// Shortest gap between two progress lines in a log, seconds.
pub const LINE_MIN_S: u64 = 2;

/// A progress report over `len` units of work (see the module docs).
pub struct Progress {
    inner: Inner,
}

enum Inner {
    Hidden,
    Bar(ProgressBar),
    Lines(Lines),
}

/// The plain-line form, writing to any sink (stderr in use, a buffer in tests).
struct Lines {
    label: String,
    len: u64,
    pos: u64,
    t0: Instant,
    last_t: Instant,
    last_tenth: u64,
    msg: String,
    out: Box<dyn Write + Send>,
}

impl Lines {
    fn line(&mut self, now: Instant) {
        let el = now.duration_since(self.t0).as_secs_f64();
        let pct = if self.len == 0 { 100.0 } else { 100.0 * self.pos as f64 / self.len as f64 };
        let left = if self.pos > 0 && self.pos < self.len {
            format!(", ~{:.0} s left", el * (self.len - self.pos) as f64 / self.pos as f64)
        } else {
            String::new()
        };
        // A log line that cannot be written must not stop the work.
        let msg = if self.msg.is_empty() { String::new() } else { format!(" [{}]", self.msg) };
        let _ =
            writeln!(self.out, "{}: {}/{} ({pct:.0} %), {el:.1} s elapsed{left}{msg}", self.label, self.pos, self.len);
        let _ = self.out.flush();
        self.last_t = now;
    }

    fn inc(&mut self, k: u64, now: Instant) {
        self.pos += k;
        let tenth = (10 * self.pos).checked_div(self.len).map_or(10, |t| t.min(10));
        let since = now.duration_since(self.last_t);
        let due = (tenth > self.last_tenth && since >= Duration::from_secs(LINE_MIN_S))
            || since >= Duration::from_secs(LINE_EVERY_S);
        if due {
            self.last_tenth = tenth;
            if self.pos < self.len {
                self.line(now);
            }
        }
    }
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines when it is not, nothing when `quiet`.
    /// `label` names the work in the lines (`run configs/mec.toml`, `reproduce dirs`).
    pub fn new(label: &str, len: u64, quiet: bool) -> Self {
        if quiet {
            return Progress { inner: Inner::Hidden };
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta}) {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            return Progress { inner: Inner::Bar(bar) };
        }
        Self::lines(label, len, Box::new(std::io::stderr()))
    }

    /// The plain-line form into `out` (what [`Progress::new`] uses when stderr is no terminal).
    pub fn lines(label: &str, len: u64, out: Box<dyn Write + Send>) -> Self {
        let t0 = Instant::now();
        let mut l =
            Lines { label: label.to_string(), len, pos: 0, t0, last_t: t0, last_tenth: 0, msg: String::new(), out };
        let _ = writeln!(l.out, "{label}: started, {len} units of work");
        let _ = l.out.flush();
        Progress { inner: Inner::Lines(l) }
    }

    /// `k` more units done.
    pub fn inc(&mut self, k: u64) {
        match &mut self.inner {
            Inner::Hidden => {}
            Inner::Bar(b) => b.inc(k),
            Inner::Lines(l) => l.inc(k, Instant::now()),
        }
    }

    /// A note shown beside the bar (and at the end of each line): `3 running, 1 failed`.
    pub fn set_message(&mut self, msg: &str) {
        match &mut self.inner {
            Inner::Hidden => {}
            Inner::Bar(b) => b.set_message(msg.to_string()),
            Inner::Lines(l) => l.msg = msg.to_string(),
        }
    }

    /// The work is done: clear the bar, or write the last line.
    pub fn finish(self) {
        match self.inner {
            Inner::Hidden => {}
            Inner::Bar(b) => b.finish_and_clear(),
            Inner::Lines(mut l) => {
                l.pos = l.pos.max(l.len);
                l.line(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(sink: &Sink) -> String {
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    fn lines_of(p: &mut Progress) -> &mut Lines {
        match &mut p.inner {
            Inner::Lines(l) => l,
            _ => unreachable!(),
        }
    }

    #[test]
    fn lines_at_start_each_tenth_and_end() {
        let sink = Sink::default();
        let mut p = Progress::lines("reproduce x", 100, Box::new(sink.clone()));
        let t0 = lines_of(&mut p).t0;
        // One unit per second: a line at each tenth (10 s apart), none in between.
        for k in 1..=100 {
            lines_of(&mut p).inc(1, t0 + Duration::from_secs(k));
        }
        p.finish();
        let text = text(&sink);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "reproduce x: started, 100 units of work");
        assert_eq!(lines.len(), 1 + 9 + 1, "{text}");
        assert_eq!(lines[1], "reproduce x: 10/100 (10 %), 10.0 s elapsed, ~90 s left");
        assert!(lines[10].starts_with("reproduce x: 100/100 (100 %), "), "{text}");
        assert!(!lines[10].contains("left"), "{text}");
    }

    #[test]
    fn short_jobs_write_two_lines_slow_ones_every_30_s() {
        let sink = Sink::default();
        let mut p = Progress::lines("fast", 10, Box::new(sink.clone()));
        let t0 = lines_of(&mut p).t0;
        for k in 1..=10 {
            lines_of(&mut p).inc(1, t0 + Duration::from_millis(100 * k));
        }
        p.finish();
        assert_eq!(text(&sink).lines().count(), 2, "{}", text(&sink));
        let sink = Sink::default();
        let mut p = Progress::lines("slow", 1000, Box::new(sink.clone()));
        let t0 = lines_of(&mut p).t0;
        // 1 unit per 10 s: no tenth is crossed for 1000 s, a line every 30 s instead.
        for k in 1..=12 {
            lines_of(&mut p).inc(1, t0 + Duration::from_secs(10 * k));
        }
        let text = text(&sink);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 4, "{text}");
        assert_eq!(lines[1], "slow: 3/1000 (0 %), 30.0 s elapsed, ~9970 s left");
    }

    #[test]
    fn empty_work_ends_at_100_percent() {
        let sink = Sink::default();
        let mut q = Progress::lines("e", 0, Box::new(sink.clone()));
        q.inc(0);
        q.finish();
        let text = text(&sink);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[1].starts_with("e: 0/0 (100 %)"), "{text}");
    }
}
