//! Graphviz DOT reader and writer for DAGGEN's output (docs/dag.md, issue 4).
//!
//! The accepted language is the subset of DOT that DAGGEN (and MRLCO's modified DAGGEN) writes,
//! with the tolerance a hand-edited file needs:
//!
//! ```text
//! // comment lines start with //
//! digraph G {
//!   1 [size="123456", alpha="0.12", expect_size="23456"]
//!   1 -> 2 [size ="4567"]
//!   2 [size="…", alpha="…", expect_size="…"]
//! }
//! ```
//!
//! - Comments: `// …` and `# …` to the end of the line, `/* … */` blocks.
//! - Header: optional `strict`, the keyword `digraph`, an optional name (bare word or quoted),
//!   then `{`. Nothing but comments and white space may follow the closing `}`.
//! - Statements, each optionally ended by `;`:
//!   - node `k [attrs]` with `k` a positive decimal integer (bare or quoted); tasks are numbered
//!     from 1 and task `k` is index `k − 1` of [`Dag`];
//!   - edge `a -> b [attrs]` (chains `a -> b -> c` give one edge per arrow, all with the same
//!     attributes); an edge may name a node declared later in the file, as DAGGEN writes them;
//!   - `graph|node|edge [attrs]` defaults and `key = value` graph attributes are accepted and
//!     ignored (DAGGEN writes none; a node therefore still needs its own attributes).
//! - Attributes: `key = value` separated by `,` or `;` or white space, in any order; values quoted
//!   or bare. Node attributes `size` and `expect_size` are required, `alpha` is optional (0 when
//!   absent); edges require `size`. Other attributes (labels, colours) are ignored; a repeated
//!   attribute keeps its last value, as Graphviz does. Values are decimal numbers (integers as
//!   DAGGEN writes them, or decimal / exponent text), finite and ≥ 0, kept as `f64`.
//!
//! Every problem is an [`Error::Parse`] naming the file, the 1-based line and what is wrong: a
//! syntax error, a duplicate node, a missing / non-numeric / negative / non-finite attribute, a
//! dangling edge (an endpoint never declared), node ids that are not exactly `1..=n`, a cycle
//! (naming a task on it, at the line of an edge of the cycle), an empty graph. The reader never
//! panics, whatever the input (see the fuzz target under `fuzz/`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::Dag;
use crate::error::{Error, Result};

/// A token and the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq)]
enum Tok<'a> {
    /// Bare word: identifier or number (`[A-Za-z0-9_.+-]`, not starting `->`).
    Word(&'a str),
    /// Quoted string, escapes resolved (borrowed from the text when it has none).
    Quoted(Cow<'a, str>),
    /// One of `{ } [ ] = , ;`.
    Punct(char),
    /// `->`.
    Arrow,
    /// `--` (undirected edge: refused with a clear message).
    UndirectedEdge,
}

fn tok_name(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{}`", clip(w)),
        Tok::Quoted(q) => format!("\"{}\"", clip(q)),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::Arrow => "`->`".into(),
        Tok::UndirectedEdge => "`--`".into(),
    }
}

/// At most 40 characters of a user string, for messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Tokens read one at a time from the text (one token of look-ahead), so that the memory of a
/// parse is the graph's, not the text's times the size of a token list.
struct Lexer<'a> {
    text: &'a str,
    path: &'a Path,
    /// Byte position.
    i: usize,
    line: usize,
    at_line_start: bool,
    ahead: Option<(Tok<'a>, usize)>,
    last_line: usize,
    /// A lexical error; the parser then sees the end of the input, and the error wins.
    error: Option<Error>,
    done: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '+' || c == '-' || !c.is_ascii()
}

fn perr(path: &Path, line: usize, why: impl Into<String>) -> Error {
    Error::Parse { path: PathBuf::from(path), line, why: why.into() }
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str, path: &'a Path) -> Self {
        Lexer { text, path, i: 0, line: 1, at_line_start: true, ahead: None, last_line: 1, error: None, done: false }
    }

    fn ch(&self, i: usize) -> Option<char> {
        self.text.get(i..).and_then(|t| t.chars().next())
    }

    /// Make the next token (if any) the look-ahead.
    fn fill(&mut self) {
        if self.ahead.is_some() || self.done {
            return;
        }
        match self.lex_one() {
            Ok(Some(t)) => {
                self.last_line = t.1;
                self.ahead = Some(t);
            }
            Ok(None) => self.done = true,
            Err(e) => {
                self.error = Some(e);
                self.done = true;
            }
        }
    }

    fn lex_one(&mut self) -> Result<Option<(Tok<'a>, usize)>> {
        let path = self.path;
        while let Some(c) = self.ch(self.i) {
            let i = self.i;
            if c == '\n' {
                self.line += 1;
                self.i += 1;
                self.at_line_start = true;
                continue;
            }
            if c.is_whitespace() {
                self.i += c.len_utf8();
                continue;
            }
            let line_start = self.at_line_start;
            self.at_line_start = false;
            let next = self.ch(i + c.len_utf8());
            // Comments.
            if c == '/' && next == Some('/') || (c == '#' && line_start) {
                self.i = self.text[i..].find('\n').map_or(self.text.len(), |k| i + k);
                continue;
            }
            if c == '/' && next == Some('*') {
                let start = self.line;
                let Some(k) = self.text[i + 2..].find("*/") else {
                    return Err(perr(path, start, "unterminated `/*` comment"));
                };
                self.line += self.text[i + 2..i + 2 + k].matches('\n').count();
                self.i = i + 2 + k + 2;
                continue;
            }
            let line = self.line;
            return match c {
                '{' | '}' | '[' | ']' | '=' | ',' | ';' => {
                    self.i += 1;
                    Ok(Some((Tok::Punct(c), line)))
                }
                '-' if next == Some('>') => {
                    self.i += 2;
                    Ok(Some((Tok::Arrow, line)))
                }
                '-' if next == Some('-') => {
                    self.i += 2;
                    Ok(Some((Tok::UndirectedEdge, line)))
                }
                '"' => self.quoted().map(Some),
                c if is_word_char(c) => {
                    let mut j = i;
                    while let Some(d) = self.ch(j).filter(|&d| is_word_char(d)) {
                        // Stop before an arrow glued to a word: `1->2`.
                        if d == '-' && matches!(self.ch(j + 1), Some('>') | Some('-')) {
                            break;
                        }
                        j += d.len_utf8();
                    }
                    if j == i {
                        // A lone '-' followed by '>' or '-' is handled above; this cannot loop.
                        return Err(perr(path, line, format!("unexpected character `{c}`")));
                    }
                    self.i = j;
                    Ok(Some((Tok::Word(&self.text[i..j]), line)))
                }
                other => Err(perr(path, line, format!("unexpected character {:?}", other))),
            };
        }
        Ok(None)
    }

    /// A quoted string at `self.i`. DOT escapes: \" is a quote, backslash-newline continues the
    /// line; any other backslash stays.
    fn quoted(&mut self) -> Result<(Tok<'a>, usize)> {
        let start = self.line;
        let body = self.i + 1;
        let mut owned: Option<String> = None;
        let mut j = body;
        loop {
            match self.ch(j) {
                None => return Err(perr(self.path, start, "unterminated quoted string")),
                Some('"') => break,
                Some('\\') => {
                    let s = owned.get_or_insert_with(|| self.text[body..j].to_string());
                    match self.ch(j + 1) {
                        Some('"') => s.push('"'),
                        Some('\n') => self.line += 1,
                        Some(o) => {
                            s.push('\\');
                            s.push(o);
                        }
                        None => return Err(perr(self.path, start, "unterminated quoted string")),
                    }
                    j += 1 + self.ch(j + 1).map_or(0, char::len_utf8);
                }
                Some(o) => {
                    if o == '\n' {
                        self.line += 1;
                    }
                    if let Some(s) = owned.as_mut() {
                        s.push(o);
                    }
                    j += o.len_utf8();
                }
            }
        }
        self.i = j + 1;
        let text = match owned {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(&self.text[body..j]),
        };
        Ok((Tok::Quoted(text), start))
    }
}

/// Parser state over the tokens.
struct Parser<'a> {
    lx: Lexer<'a>,
}

type Attrs = Vec<(String, String, usize)>;

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Option<&Tok<'a>> {
        self.lx.fill();
        self.lx.ahead.as_ref().map(|(t, _)| t)
    }
    fn line(&mut self) -> usize {
        // At the end of the input: the line of the last token (1 when there is none).
        self.lx.fill();
        self.lx.ahead.as_ref().map_or(self.lx.last_line, |&(_, l)| l)
    }
    fn err(&mut self, why: impl Into<String>) -> Error {
        let line = self.line();
        perr(self.lx.path, line, why)
    }
    fn next(&mut self) -> Option<(Tok<'a>, usize)> {
        self.lx.fill();
        self.lx.ahead.take()
    }
    /// Drop the look-ahead token.
    fn bump(&mut self) {
        self.next();
    }
    fn expect_punct(&mut self, c: char, ctx: &str) -> Result<()> {
        match self.peek() {
            Some(Tok::Punct(p)) if *p == c => {
                self.bump();
                Ok(())
            }
            Some(t) => {
                let found = tok_name(t);
                Err(self.err(format!("expected `{c}` {ctx}, found {found}")))
            }
            None => Err(self.err(format!("expected `{c}` {ctx}, found end of file"))),
        }
    }

    /// An identifier: word or quoted string.
    fn id(&mut self, ctx: &str) -> Result<(String, usize)> {
        match self.next() {
            Some((Tok::Word(w), l)) => Ok((w.to_string(), l)),
            Some((Tok::Quoted(w), l)) => Ok((w.into_owned(), l)),
            Some((t, l)) => Err(perr(self.lx.path, l, format!("expected {ctx}, found {}", tok_name(&t)))),
            None => Err(self.err(format!("expected {ctx}, found end of file"))),
        }
    }

    /// Zero or more `[ k = v, … ]` lists.
    fn attr_lists(&mut self) -> Result<Attrs> {
        let mut out = Vec::new();
        while self.peek() == Some(&Tok::Punct('[')) {
            self.bump();
            loop {
                match self.peek() {
                    Some(Tok::Punct(']')) => {
                        self.bump();
                        break;
                    }
                    Some(Tok::Punct(',')) | Some(Tok::Punct(';')) => self.bump(),
                    None => return Err(self.err("unterminated attribute list: expected `]`")),
                    _ => {
                        let (k, l) = self.id("an attribute name")?;
                        self.expect_punct('=', &format!("after attribute `{}`", clip(&k)))?;
                        let (v, _) = self.id(&format!("a value for attribute `{}`", clip(&k)))?;
                        out.push((k, v, l));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A node id: a positive decimal integer.
fn node_id(s: &str, line: usize, path: &Path) -> Result<usize> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(perr(path, line, format!("node id `{}` is not a positive integer", clip(s))));
    }
    match t.parse::<usize>() {
        Ok(0) => Err(perr(path, line, "node id 0: tasks are numbered from 1")),
        Ok(k) => Ok(k),
        Err(_) => Err(perr(path, line, format!("node id `{}` is too large", clip(s)))),
    }
}

/// A numeric attribute value: finite, ≥ 0, decimal text (no `inf`/`nan`/hex).
fn number(key: &str, v: &str, line: usize, path: &Path) -> Result<f64> {
    let t = v.trim();
    let ok_chars = !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && t.bytes().any(|b| b.is_ascii_digit());
    let x = if ok_chars { t.parse::<f64>().ok() } else { None };
    match x {
        None => Err(perr(path, line, format!("attribute `{key}` = \"{}\" is not a number", clip(v)))),
        Some(x) if !x.is_finite() => {
            Err(perr(path, line, format!("attribute `{key}` = \"{}\" is not finite", clip(v))))
        }
        Some(x) if x < 0.0 => Err(perr(path, line, format!("attribute `{key}` = \"{}\" is negative", clip(v)))),
        // Normalise −0 to +0 so that write/parse round trips are bit-exact.
        Some(x) => Ok(x + 0.0),
    }
}

/// Value of attribute `key` (last one wins), parsed; `None` when absent.
fn attr(attrs: &Attrs, key: &str, path: &Path) -> Result<Option<f64>> {
    match attrs.iter().rev().find(|(k, _, _)| k == key) {
        Some((_, v, l)) => number(key, v, *l, path).map(Some),
        None => Ok(None),
    }
}

struct NodeDecl {
    size: f64,
    expect_size: f64,
    alpha: f64,
    line: usize,
}

struct EdgeDecl {
    a: usize,
    b: usize,
    a_line: usize,
    b_line: usize,
    bytes: f64,
    line: usize,
}

/// Parse DAGGEN DOT text. `path` only names the source in errors.
pub fn parse_dot(text: &str, path: &Path) -> Result<Dag> {
    let mut p = Parser { lx: Lexer::new(text, path) };
    let parsed = parse(&mut p, path);
    // A lexical error ends the tokens early: it, not what the parser made of the early end, is
    // the problem.
    match p.lx.error.take() {
        Some(e) => Err(e),
        None => parsed,
    }
}

fn parse(p: &mut Parser, path: &Path) -> Result<Dag> {
    // Header.
    if let Some(Tok::Word(w)) = p.peek() {
        if w.eq_ignore_ascii_case("strict") {
            p.bump();
        }
    }
    match p.next() {
        Some((Tok::Word(w), _)) if w.eq_ignore_ascii_case("digraph") => {}
        Some((Tok::Word(w), l)) if w.eq_ignore_ascii_case("graph") => {
            return Err(perr(path, l, "an undirected `graph`: a task graph must be a `digraph`"));
        }
        Some((t, l)) => return Err(perr(path, l, format!("expected `digraph`, found {}", tok_name(&t)))),
        None => return Err(perr(path, p.line(), "empty file: expected `digraph { … }`")),
    }
    if matches!(p.peek(), Some(Tok::Word(_)) | Some(Tok::Quoted(_))) {
        p.bump();
    }
    p.expect_punct('{', "to open the graph body")?;

    let mut nodes: HashMap<usize, NodeDecl> = HashMap::new();
    let mut order: Vec<usize> = Vec::new();
    let mut edges: Vec<EdgeDecl> = Vec::new();
    let close_line;
    loop {
        let Some(t) = p.peek().cloned() else {
            return Err(p.err("unexpected end of file: expected `}` to close the graph"));
        };
        match t {
            Tok::Punct('}') => {
                close_line = p.line();
                p.bump();
                break;
            }
            Tok::Punct(';') => p.bump(),
            Tok::Word(_) | Tok::Quoted(_) => {
                let (first, l0) = p.id("a statement")?;
                let bare_keyword = matches!(&t, Tok::Word(_))
                    && ["graph", "node", "edge", "subgraph"].iter().any(|k| first.eq_ignore_ascii_case(k));
                if bare_keyword {
                    if first.eq_ignore_ascii_case("subgraph") {
                        return Err(perr(path, l0, "subgraphs are not supported in a task graph"));
                    }
                    // Default attribute statement: accepted and ignored.
                    p.attr_lists()?;
                    continue;
                }
                match p.peek() {
                    Some(Tok::Punct('=')) => {
                        // Graph attribute `key = value`: ignored.
                        p.bump();
                        p.id(&format!("a value for graph attribute `{}`", clip(&first)))?;
                    }
                    Some(Tok::Arrow) => {
                        let mut chain = vec![(node_id(&first, l0, path)?, l0)];
                        while p.peek() == Some(&Tok::Arrow) {
                            p.bump();
                            let (id, l) = p.id("a node id after `->`")?;
                            chain.push((node_id(&id, l, path)?, l));
                        }
                        let attrs = p.attr_lists()?;
                        let bytes = match attr(&attrs, "size", path)? {
                            Some(x) => x,
                            None => {
                                return Err(perr(
                                    path,
                                    l0,
                                    format!("edge {} -> {}: missing attribute `size`", chain[0].0, chain[1].0),
                                ))
                            }
                        };
                        for w in chain.windows(2) {
                            edges.push(EdgeDecl {
                                a: w[0].0,
                                b: w[1].0,
                                a_line: w[0].1,
                                b_line: w[1].1,
                                bytes,
                                line: w[0].1,
                            });
                        }
                    }
                    Some(Tok::UndirectedEdge) => {
                        return Err(p.err("undirected edge `--`: use `->` in a digraph"));
                    }
                    _ => {
                        let k = node_id(&first, l0, path)?;
                        let attrs = p.attr_lists()?;
                        if let Some(prev) = nodes.get(&k) {
                            return Err(perr(
                                path,
                                l0,
                                format!("duplicate node {k} (first declared on line {})", prev.line),
                            ));
                        }
                        let need = |key: &str| -> Result<f64> {
                            attr(&attrs, key, path)?
                                .ok_or_else(|| perr(path, l0, format!("node {k}: missing attribute `{key}`")))
                        };
                        let size = need("size")?;
                        let expect_size = need("expect_size")?;
                        let alpha = attr(&attrs, "alpha", path)?.unwrap_or(0.0);
                        nodes.insert(k, NodeDecl { size, expect_size, alpha, line: l0 });
                        order.push(k);
                    }
                }
            }
            other => return Err(p.err(format!("expected a node or edge statement, found {}", tok_name(&other)))),
        }
    }
    if let Some((t, l)) = p.next() {
        return Err(perr(path, l, format!("unexpected {} after the closing `}}`", tok_name(&t))));
    }

    let n = nodes.len();
    if n == 0 {
        return Err(perr(path, close_line, "empty graph: no task nodes"));
    }
    // Ids must be exactly 1..=n: with n distinct ids, it is enough that none exceeds n.
    for &k in &order {
        if k > n {
            let missing = (1..=n).find(|i| !nodes.contains_key(i)).unwrap_or(n);
            return Err(perr(
                path,
                nodes[&k].line,
                format!("node ids must be 1..={n} without gaps: found node {k}, node {missing} is missing"),
            ));
        }
    }
    for e in &edges {
        for (id, l) in [(e.a, e.a_line), (e.b, e.b_line)] {
            if !nodes.contains_key(&id) {
                return Err(perr(path, l, format!("dangling edge {} -> {}: node {id} is not declared", e.a, e.b)));
            }
        }
    }

    let mut dag = Dag {
        size: vec![0.0; n],
        expect_size: vec![0.0; n],
        alpha: vec![0.0; n],
        edges: edges.iter().map(|e| (e.a - 1, e.b - 1, e.bytes)).collect(),
    };
    for (&k, d) in &nodes {
        dag.size[k - 1] = d.size;
        dag.expect_size[k - 1] = d.expect_size;
        dag.alpha[k - 1] = d.alpha;
    }
    if let Some((task, edge)) = find_cycle(n, &dag.edges) {
        let e = &edges[edge];
        return Err(perr(path, e.line, format!("cycle through task {} (edge {} -> {} closes it)", task + 1, e.a, e.b)));
    }
    Ok(dag)
}

/// A task on a cycle and the index of an edge of that cycle, or `None` when acyclic.
/// Kahn's algorithm; the nodes left over all lie on or downstream of a cycle, so walking parent
/// edges backwards inside the leftover set must revisit a node.
pub(crate) fn find_cycle(n: usize, edges: &[(usize, usize, f64)]) -> Option<(usize, usize)> {
    let mut indeg = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut inc: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(a, b, _)) in edges.iter().enumerate() {
        indeg[b] += 1;
        out[a].push(i);
        inc[b].push(i);
    }
    let mut stack: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut done = vec![false; n];
    while let Some(v) = stack.pop() {
        done[v] = true;
        for &i in &out[v] {
            let b = edges[i].1;
            indeg[b] -= 1;
            if indeg[b] == 0 {
                stack.push(b);
            }
        }
    }
    let start = (0..n).find(|&v| !done[v])?;
    // Walk backwards through undone parents until a node repeats.
    let mut seen = vec![usize::MAX; n];
    let mut v = start;
    let mut step = 0usize;
    loop {
        if seen[v] != usize::MAX {
            // v is on the cycle; find the edge into v from an undone parent that is on it.
            let i = *inc[v].iter().find(|&&i| !done[edges[i].0])?;
            return Some((v, i));
        }
        seen[v] = step;
        step += 1;
        let i = *inc[v].iter().find(|&&i| !done[edges[i].0])?;
        v = edges[i].0;
    }
}

/// Read and parse a DOT file. I/O failures are [`Error::Io`] naming the path; bytes that are not
/// UTF-8 are an [`Error::Parse`] at the line where they occur.
pub fn read_dot(path: &Path) -> Result<Dag> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count();
            return Err(perr(path, line, "file is not valid UTF-8"));
        }
    };
    parse_dot(&text, path)
}

/// A number as DAGGEN writes it: integral values without decimals, others in the shortest text
/// that parses back to the same `f64` (exponent form outside 1e-6 ≤ |x| < 1e21).
fn num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-6..1e21).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Write `dag` in DAGGEN's DOT layout: a comment, `digraph G {`, each node
/// `k [size="…", alpha="…", expect_size="…"]` (numbered from 1) followed by its out-edges
/// `a -> b [size="…"]`, then `}`. Edges keep their order in `dag.edges`: each edge is written
/// after its parent's node line (nodes in increasing order), so DAGGEN-ordered edge lists give
/// exactly DAGGEN's interleaving and any other order still reads back identically.
/// `parse_dot(&write_dot(d), p) == Ok(d)` for every valid DAG (non-negative finite values); an
/// inconsistent `Dag` (short attribute vectors, out-of-range edges) is written as is, without panic.
pub fn write_dot(dag: &Dag) -> String {
    let n = dag.n();
    let mut s = String::with_capacity(64 * (n + dag.edges.len()) + 64);
    s.push_str("// DAG written by mecrl (DAGGEN layout)\n");
    s.push_str("digraph G {\n");
    let mut written = 0usize;
    let node = |s: &mut String, k: usize| {
        let _ = writeln!(
            s,
            "  {} [size=\"{}\", alpha=\"{}\", expect_size=\"{}\"]",
            k + 1,
            num(dag.size[k]),
            num(dag.alpha.get(k).copied().unwrap_or(0.0)),
            num(dag.expect_size.get(k).copied().unwrap_or(0.0)),
        );
    };
    for &(a, b, bytes) in &dag.edges {
        while written <= a && written < n {
            node(&mut s, written);
            written += 1;
        }
        let _ = writeln!(s, "  {} -> {} [size=\"{}\"]", a.saturating_add(1), b.saturating_add(1), num(bytes));
    }
    while written < n {
        node(&mut s, written);
        written += 1;
    }
    s.push_str("}\n");
    s
}

/// Write `dag` to `path` atomically: the text goes to a temporary file in the same directory,
/// which is flushed and renamed over `path`. Failures are [`Error::Io`] naming the path.
pub fn write_dot_file(dag: &Dag, path: &Path) -> Result<()> {
    let text = write_dot(dag);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "dag.dot".into());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}
