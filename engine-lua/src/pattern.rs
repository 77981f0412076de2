//! Lua pattern matching (`string.find`, `string.match`, `string.gmatch`, `string.gsub`) under the call's deadline.
//!
//! Lua's own matcher (`lstrlib.c`) runs inside one C call, where the instruction hook cannot interrupt it: a
//! backtracking pattern on a long subject (`("a"):rep(1e5):find(".-.-b")`) runs for hours. This is a port of that
//! matcher, same semantics and error messages, that counts its steps and checks the deadline every
//! [`CHECK_EVERY`] steps; past it, the call fails with the instance's `timeout`. Plain searches
//! (`find(s, p, init, true)` or a pattern without special characters) use [`memchr::memmem`], which takes linear
//! time (Lua's own search compares the pattern at every position of the subject).
//!
//! These functions are Rust functions, so an error they return reaches Lua as a userdata, which the sandbox's
//! `pcall` wrapper does not classify: a memory or stack error on its way out of one of them is recorded on the
//! instance's [`Limiter`] (see [`noted`]), so that the call ends with that limit even if the script catches it.
//! `gsub` output is bounded by `memory_mb` together with the Lua heap and the output of the `gsub` calls it is
//! nested in (see [`Held`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use mlua::{Function, Lua, LuaString, MultiValue, Table, Value};

use crate::limits::{LimitError, Limiter, MEMERR, limit_error};

/// Deepest nesting of `gsub` calls whose replacement function or table calls `gsub` again (each level is a Rust
/// frame on the native stack, which Lua's own depth checks do not see).
pub(crate) const MAX_GSUB_NESTING: usize = 32;
/// Native stack `gsub` keeps free before calling back into Lua.
const GSUB_STACK_RESERVE: usize = 256 * 1024;

/// Matching steps between two looks at the clock.
pub(crate) const CHECK_EVERY: u32 = 4096;

const MAXCAPTURES: usize = 32;
const MAXCCALLS: usize = 200;
const CAP_UNFINISHED: isize = -1;
const CAP_POSITION: isize = -2;
const ESC: u8 = b'%';
const SPECIALS: &[u8] = b"^$*+?.([%-";

/// Why matching stopped early.
enum Stop {
    Error(String),
    Deadline,
}

type R<T> = Result<T, Stop>;

fn err<T>(message: impl Into<String>) -> R<T> {
    Err(Stop::Error(message.into()))
}

struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    level: usize,
    capture: [(usize, isize); MAXCAPTURES],
    depth: usize,
    steps: u32,
    limiter: &'a Limiter,
}

impl<'a> Matcher<'a> {
    fn new(src: &'a [u8], pat: &'a [u8], limiter: &'a Limiter) -> Self {
        Self {
            src,
            pat,
            level: 0,
            capture: [(0, 0); MAXCAPTURES],
            depth: MAXCCALLS,
            steps: 0,
            limiter,
        }
    }

    fn reprep(&mut self) {
        self.level = 0;
        self.depth = MAXCCALLS;
    }

    fn tick(&mut self) -> R<()> {
        self.tick_by(1)
    }

    /// Counts `n` steps: a single pattern item over a character class scans the class, so it counts as long
    /// as the class is (`[` + four million letters + `]` would otherwise be one step per subject position).
    fn tick_by(&mut self, n: usize) -> R<()> {
        self.steps = self
            .steps
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if self.steps >= CHECK_EVERY {
            self.steps = 0;
            if self.limiter.out_of_time() {
                return Err(Stop::Deadline);
            }
        }
        Ok(())
    }

    /// The pattern byte at `i`, or 0 past its end (the C code reads the terminating NUL).
    fn p(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn class_end(&self, mut p: usize) -> R<usize> {
        let c = self.p(p);
        p += 1;
        if c == ESC {
            if p >= self.pat.len() {
                return err("malformed pattern (ends with '%')");
            }
            return Ok(p + 1);
        }
        if c == b'[' {
            if self.p(p) == b'^' {
                p += 1;
            }
            loop {
                if p >= self.pat.len() {
                    return err("malformed pattern (missing ']')");
                }
                let c = self.pat[p];
                p += 1;
                if c == ESC && p < self.pat.len() {
                    p += 1;
                }
                if self.p(p) == b']' {
                    break;
                }
            }
            return Ok(p + 1);
        }
        Ok(p)
    }

    fn bracket_class(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.p(p + 1) == b'^' {
            sig = false;
            p += 1;
        }
        p += 1;
        while p < ec {
            if self.pat[p] == ESC {
                p += 1;
                if match_class(c, self.p(p)) {
                    return sig;
                }
            } else if self.p(p + 1) == b'-' && p + 2 < ec {
                if self.pat[p] <= c && c <= self.pat[p + 2] {
                    return sig;
                }
                p += 2;
            } else if self.pat[p] == c {
                return sig;
            }
            p += 1;
        }
        !sig
    }

    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p] {
            b'.' => true,
            ESC => match_class(c, self.p(p + 1)),
            b'[' => self.bracket_class(c, p, ep - 1),
            other => other == c,
        }
    }

    fn do_match(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        if self.depth == 0 {
            return err("pattern too complex");
        }
        self.depth -= 1;
        let result = self.match_inner(s, p);
        self.depth += 1;
        result
    }

    fn match_inner(&mut self, mut s: usize, mut p: usize) -> R<Option<usize>> {
        loop {
            self.tick()?;
            if p >= self.pat.len() {
                return Ok(Some(s));
            }
            match self.pat[p] {
                b'(' => {
                    return if self.p(p + 1) == b')' {
                        self.start_capture(s, p + 2, CAP_POSITION)
                    } else {
                        self.start_capture(s, p + 1, CAP_UNFINISHED)
                    };
                }
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == self.pat.len() => {
                    return Ok((s == self.src.len()).then_some(s));
                }
                ESC if self.p(p + 1) == b'b' => match self.balance(s, p + 2)? {
                    Some(e) => {
                        s = e;
                        p += 4;
                        continue;
                    }
                    None => return Ok(None),
                },
                ESC if self.p(p + 1) == b'f' => {
                    p += 2;
                    if self.p(p) != b'[' {
                        return err("missing '[' after '%f' in pattern");
                    }
                    let ep = self.class_end(p)?;
                    self.tick_by(ep - p)?;
                    let previous = if s == 0 { 0 } else { self.src[s - 1] };
                    let current = self.src.get(s).copied().unwrap_or(0);
                    if !self.bracket_class(previous, p, ep - 1)
                        && self.bracket_class(current, p, ep - 1)
                    {
                        p = ep;
                        continue;
                    }
                    return Ok(None);
                }
                ESC if self.p(p + 1).is_ascii_digit() => {
                    match self.match_capture(s, self.p(p + 1))? {
                        Some(e) => {
                            s = e;
                            p += 2;
                            continue;
                        }
                        None => return Ok(None),
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    self.tick_by(ep - p)?;
                    let suffix = self.p(ep);
                    if !self.single(s, p, ep) {
                        if matches!(suffix, b'*' | b'?' | b'-') {
                            p = ep + 1;
                            continue;
                        }
                        return Ok(None);
                    }
                    match suffix {
                        b'?' => {
                            if let Some(res) = self.do_match(s + 1, ep + 1)? {
                                return Ok(Some(res));
                            }
                            p = ep + 1;
                        }
                        b'+' => return self.max_expand(s + 1, p, ep),
                        b'*' => return self.max_expand(s, p, ep),
                        b'-' => return self.min_expand(s, p, ep),
                        _ => {
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        }
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> R<Option<usize>> {
        let mut i = 0usize;
        while self.single(s + i, p, ep) {
            self.tick_by(ep - p)?;
            i += 1;
        }
        loop {
            if let Some(res) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(res));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> R<Option<usize>> {
        loop {
            if let Some(res) = self.do_match(s, ep + 1)? {
                return Ok(Some(res));
            }
            self.tick_by(ep - p)?;
            if self.single(s, p, ep) {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: isize) -> R<Option<usize>> {
        if self.level >= MAXCAPTURES {
            return err("too many captures");
        }
        self.capture[self.level] = (s, what);
        self.level += 1;
        let res = self.do_match(s, p)?;
        if res.is_none() {
            self.level -= 1;
        }
        Ok(res)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        let Some(l) = (0..self.level)
            .rev()
            .find(|&l| self.capture[l].1 == CAP_UNFINISHED)
        else {
            return err("invalid pattern capture");
        };
        self.capture[l].1 = isize::try_from(s - self.capture[l].0).unwrap_or(isize::MAX);
        let res = self.do_match(s, p)?;
        if res.is_none() {
            self.capture[l].1 = CAP_UNFINISHED;
        }
        Ok(res)
    }

    fn balance(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        if p + 1 >= self.pat.len() {
            return err("malformed pattern (missing arguments to '%b')");
        }
        if self.src.get(s) != Some(&self.pat[p]) {
            return Ok(None);
        }
        let (b, e) = (self.pat[p], self.pat[p + 1]);
        let mut depth = 1usize;
        let mut i = s + 1;
        while i < self.src.len() {
            self.tick()?;
            let c = self.src[i];
            if c == e {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == b {
                depth += 1;
            }
            i += 1;
        }
        Ok(None)
    }

    fn check_capture(&self, l: u8) -> R<usize> {
        let index = i32::from(l) - i32::from(b'1');
        match usize::try_from(index) {
            Ok(l) if l < self.level && self.capture[l].1 != CAP_UNFINISHED => Ok(l),
            _ => err(format!("invalid capture index %{}", index + 1)),
        }
    }

    fn match_capture(&mut self, s: usize, l: u8) -> R<Option<usize>> {
        let l = self.check_capture(l)?;
        let (init, len) = self.capture[l];
        // A position capture has no text: as in C (its length is -2 cast to size_t), it never matches.
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        if self.src.len() - s >= len && self.src[init..init + len] == self.src[s..s + len] {
            Ok(Some(s + len))
        } else {
            Ok(None)
        }
    }

    /// Capture `i` of a match `s..e`: a string, or a position.
    fn capture_value(&self, lua: &Lua, i: usize, s: usize, e: usize) -> mlua::Result<Value> {
        if i >= self.level {
            if i != 0 {
                return Err(mlua::Error::runtime(format!(
                    "invalid capture index %{}",
                    i + 1
                )));
            }
            return Ok(Value::String(lua.create_string(&self.src[s..e])?));
        }
        let (init, len) = self.capture[i];
        if len == CAP_UNFINISHED {
            return Err(mlua::Error::runtime("unfinished capture"));
        }
        if len == CAP_POSITION {
            return Ok(Value::Integer(i64::try_from(init).unwrap_or(i64::MAX) + 1));
        }
        let len = usize::try_from(len).unwrap_or(0);
        Ok(Value::String(
            lua.create_string(&self.src[init..init + len])?,
        ))
    }

    /// All captures of a match `s..e` (the whole match when the pattern has none; nothing when `whole` is false).
    fn captures(&self, lua: &Lua, s: usize, e: usize, whole: bool) -> mlua::Result<MultiValue> {
        let n = if self.level == 0 && whole {
            1
        } else {
            self.level
        };
        (0..n).map(|i| self.capture_value(lua, i, s, e)).collect()
    }
}

fn match_class(c: u8, class: u8) -> bool {
    let res = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        b'z' => c == 0, // deprecated in Lua 5.2, still accepted by 5.4
        _ => return class == c,
    };
    if class.is_ascii_uppercase() {
        !res
    } else {
        res
    }
}

/// Lua's `posrelatI`: a 1-based start position, negative counting from the end, clamped at 1.
fn start_at(init: Option<i64>, len: usize) -> usize {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    match init.unwrap_or(1) {
        p if p > 0 => usize::try_from(p).unwrap_or(usize::MAX),
        0 => 1,
        p if p < -len_i => 1,
        p => usize::try_from(len_i + p + 1).unwrap_or(1),
    }
}

fn stop_error(stop: Stop, limiter: &Limiter) -> mlua::Error {
    match stop {
        Stop::Error(message) => mlua::Error::runtime(message),
        Stop::Deadline => {
            limiter.out_of_time();
            mlua::Error::runtime(crate::limits::STOP)
        }
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Records on `limiter` the memory or stack limit behind an error that is about to leave one of the pattern
/// functions, and passes the result on.
///
/// An error a Rust function returns reaches Lua as a userdata, which the sandbox's `pcall` wrapper (it recognises
/// Lua's string messages) would let a script catch and go on from: recorded here, the call ends with `memory` or
/// `stack` all the same (the hook raises again until the call returns, and `finish` reports the limit).
fn noted<T>(limiter: &Limiter, result: mlua::Result<T>) -> mlua::Result<T> {
    if let Err(error) = &result {
        match limit_error(error) {
            Some(LimitError::Memory) => limiter.trip_memory(),
            Some(LimitError::Stack(_)) => limiter.trip_stack(),
            None => {}
        }
    }
    result
}

/// The plain search of `string.find`: `pat` as bytes in `src` from `init` (Lua's `lmemfind`, in linear time).
/// Returns the 1-based inclusive bounds of the first occurrence, or nil; an empty pattern matches at `init`.
fn plain_find(src: &[u8], pat: &[u8], init: Option<i64>) -> MultiValue {
    let init = start_at(init, src.len()) - 1;
    if init > src.len() {
        return MultiValue::from_iter([Value::Nil]);
    }
    match memchr::memmem::find(&src[init..], pat) {
        Some(at) => MultiValue::from_iter([
            Value::Integer(to_i64(init + at) + 1),
            Value::Integer(to_i64(init + at + pat.len())),
        ]),
        None => MultiValue::from_iter([Value::Nil]),
    }
}

/// Bytes one `gsub` call holds in its output buffer while its replacement function or table runs, published to
/// the instance's counter of what enclosing `gsub` calls hold (so that nested calls are bounded together, not
/// each on its own) and withdrawn when dropped, on errors too.
struct Held<'a> {
    counter: &'a AtomicUsize,
    bytes: usize,
}

impl<'a> Held<'a> {
    fn publish(counter: &'a AtomicUsize, bytes: usize) -> Self {
        counter.fetch_add(bytes, Relaxed);
        Self { counter, bytes }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.bytes, Relaxed);
    }
}

/// Replaces `string.find`, `string.match`, `string.gmatch` and `string.gsub` in the state's `string` table (the
/// one the string metatable indexes too). Called before the sandbox is built.
pub(crate) fn install(lua: &Lua, limiter: &Arc<Limiter>, max_bytes: usize) -> mlua::Result<()> {
    let string: Table = lua.globals().get("string")?;
    let lua_find: Function = string.get("find")?;
    // For the sandbox's own error checks (see sandbox.lua), which may run at the C-stack limit.
    lua.globals().raw_set("__vmpool_plain_find", lua_find)?;

    let l = Arc::clone(limiter);
    let find = lua.create_function(
        move |lua, (s, p, init, plain): (LuaString, LuaString, Option<i64>, Value)| {
            let (src, pat) = (s.as_bytes(), p.as_bytes());
            let plain = !matches!(plain, Value::Nil | Value::Boolean(false));
            if plain || !pat.iter().any(|b| SPECIALS.contains(b)) {
                return Ok(plain_find(&src, &pat, init));
            }
            noted(&l, find_aux(lua, &l, &src, &pat, init, true))
        },
    )?;
    let l = Arc::clone(limiter);
    let matcher = lua.create_function(
        move |lua, (s, p, init): (LuaString, LuaString, Option<i64>)| {
            noted(
                &l,
                find_aux(lua, &l, &s.as_bytes(), &p.as_bytes(), init, false),
            )
        },
    )?;
    let l = Arc::clone(limiter);
    let gmatch = lua.create_function(
        move |lua, (s, p, init): (LuaString, LuaString, Option<i64>)| {
            let len = s.as_bytes().len();
            let mut pos = start_at(init, len) - 1;
            if pos > len {
                pos = len + 1;
            }
            let mut last: Option<usize> = None;
            let outer = Arc::clone(&l);
            let iterator = lua.create_function_mut(move |lua, ()| {
                let (src, pat) = (s.as_bytes(), p.as_bytes());
                let mut m = Matcher::new(&src, &pat, &outer);
                while pos <= src.len() {
                    m.reprep();
                    match m.do_match(pos, 0) {
                        Ok(Some(e)) if Some(e) != last => {
                            let start = pos;
                            pos = e;
                            last = Some(e);
                            return noted(&outer, m.captures(lua, start, e, true));
                        }
                        Ok(_) => pos += 1,
                        Err(stop) => return Err(stop_error(stop, &outer)),
                    }
                }
                Ok(MultiValue::new())
            });
            noted(&l, iterator)
        },
    )?;
    let l = Arc::clone(limiter);
    let nesting = Arc::new(AtomicUsize::new(0));
    // Bytes held in the output buffers of the gsub calls that are waiting for their replacement function or
    // table (the enclosing calls of a nested gsub).
    let held = Arc::new(AtomicUsize::new(0));
    let gsub = lua.create_function(
        move |lua, (s, p, repl, max_n): (LuaString, LuaString, Value, Option<i64>)| {
            let calls_back = matches!(repl, Value::Function(_) | Value::Table(_));
            if calls_back {
                let low_stack = stacker::remaining_stack().is_some_and(|r| r < GSUB_STACK_RESERVE);
                if nesting.load(Relaxed) >= MAX_GSUB_NESTING || low_stack {
                    l.trip_stack();
                    return Err(mlua::Error::runtime(format!(
                        "stack overflow (gsub calls nested deeper than {MAX_GSUB_NESTING})"
                    )));
                }
                nesting.fetch_add(1, Relaxed);
            }
            let bound = Bound {
                max_bytes,
                held: &held,
            };
            let result = gsub(lua, &l, &s, &p, &repl, max_n, &bound);
            if calls_back {
                nesting.fetch_sub(1, Relaxed);
            }
            noted(&l, result)
        },
    )?;
    string.raw_set("find", find)?;
    string.raw_set("match", matcher)?;
    string.raw_set("gmatch", gmatch)?;
    string.raw_set("gsub", gsub)?;
    Ok(())
}

fn find_aux(
    lua: &Lua,
    limiter: &Limiter,
    src: &[u8],
    pat: &[u8],
    init: Option<i64>,
    find: bool,
) -> mlua::Result<MultiValue> {
    let init = start_at(init, src.len()) - 1;
    if init > src.len() {
        return Ok(MultiValue::from_iter([Value::Nil]));
    }
    let anchor = pat.first() == Some(&b'^');
    let pat = if anchor { &pat[1..] } else { pat };
    let mut m = Matcher::new(src, pat, limiter);
    let mut s1 = init;
    loop {
        m.reprep();
        match m.do_match(s1, 0) {
            Ok(Some(e)) => {
                if find {
                    let mut out = MultiValue::from_iter([
                        Value::Integer(to_i64(s1) + 1),
                        Value::Integer(to_i64(e)),
                    ]);
                    out.extend(m.captures(lua, s1, e, false)?);
                    return Ok(out);
                }
                return m.captures(lua, s1, e, true);
            }
            Ok(None) => {}
            Err(stop) => return Err(stop_error(stop, limiter)),
        }
        s1 += 1;
        if anchor || s1 > src.len() {
            return Ok(MultiValue::from_iter([Value::Nil]));
        }
    }
}

/// What bounds a `gsub` call's output: `memory_mb` in bytes, for the output together with the Lua heap and the
/// output buffers of the enclosing `gsub` calls.
struct Bound<'a> {
    max_bytes: usize,
    held: &'a AtomicUsize,
}

impl Bound<'_> {
    /// What the rest of the process holds against the limit now: the Lua heap and the enclosing calls' buffers.
    fn elsewhere(&self, lua: &Lua) -> usize {
        self.held.load(Relaxed).saturating_add(lua.used_memory())
    }

    /// Fails with Lua's memory error when an output of `len` bytes does not fit beside `elsewhere` (which the
    /// caller keeps, refreshed after every callback; looked at again before failing, since the garbage collector
    /// may have freed memory meanwhile).
    fn check(&self, lua: &Lua, len: usize, elsewhere: &mut usize) -> mlua::Result<()> {
        if len.saturating_add(*elsewhere) > self.max_bytes {
            *elsewhere = self.elsewhere(lua);
            if len.saturating_add(*elsewhere) > self.max_bytes {
                return Err(mlua::Error::runtime(MEMERR));
            }
        }
        Ok(())
    }
}

fn gsub(
    lua: &Lua,
    limiter: &Limiter,
    s: &LuaString,
    p: &LuaString,
    repl: &Value,
    max_n: Option<i64>,
    bound: &Bound<'_>,
) -> mlua::Result<(Value, i64)> {
    let (src, pat) = (s.as_bytes(), p.as_bytes());
    let (src, pat): (&[u8], &[u8]) = (&src, &pat);
    if !matches!(
        repl,
        Value::Integer(_)
            | Value::Number(_)
            | Value::String(_)
            | Value::Table(_)
            | Value::Function(_)
    ) {
        return Err(mlua::Error::runtime(format!(
            "bad argument #3 to 'gsub' (string/function/table expected, got {})",
            repl.type_name()
        )));
    }
    let repl_text: Option<Vec<u8>> = match repl {
        Value::String(r) => Some(r.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(
            lua.coerce_string(Value::Number(*n))?
                .map_or_else(Vec::new, |s| s.as_bytes().to_vec()),
        ),
        _ => None,
    };
    let max_n = max_n.unwrap_or(to_i64(src.len()) + 1);
    let anchor = pat.first() == Some(&b'^');
    let pat = if anchor { &pat[1..] } else { pat };
    let mut m = Matcher::new(src, pat, limiter);
    let mut out: Vec<u8> = Vec::new();
    let mut pos = 0usize;
    let mut last: Option<usize> = None;
    let mut n = 0i64;
    let mut changed = false;
    let calls_back = matches!(repl, Value::Function(_) | Value::Table(_));
    let mut elsewhere = bound.elsewhere(lua);
    while n < max_n {
        m.reprep();
        let e = m
            .do_match(pos, 0)
            .map_err(|stop| stop_error(stop, limiter))?;
        match e {
            Some(e) if Some(e) != last => {
                n += 1;
                changed |= add_value(
                    lua,
                    &m,
                    &mut out,
                    pos,
                    e,
                    repl,
                    repl_text.as_deref(),
                    bound.held,
                    bound.max_bytes.saturating_sub(elsewhere),
                )?;
                if calls_back {
                    elsewhere = bound.elsewhere(lua);
                }
                pos = e;
                last = Some(e);
            }
            _ if pos < src.len() => {
                out.push(src[pos]);
                pos += 1;
            }
            _ => break,
        }
        bound.check(lua, out.len(), &mut elsewhere)?;
        if anchor {
            break;
        }
    }
    if !changed {
        return Ok((Value::String(s.clone()), n));
    }
    out.extend_from_slice(&src[pos..]);
    bound.check(lua, out.len(), &mut elsewhere)?;
    Ok((Value::String(lua.create_string(&out)?), n))
}

/// Appends the replacement of the match `s..e` to `out`; whether it changed the text. A replacement function or
/// table runs with `out`'s length published to `held` (see [`Held`]).
#[allow(clippy::too_many_arguments)]
fn add_value(
    lua: &Lua,
    m: &Matcher<'_>,
    out: &mut Vec<u8>,
    s: usize,
    e: usize,
    repl: &Value,
    repl_text: Option<&[u8]>,
    held: &AtomicUsize,
    room: usize,
) -> mlua::Result<bool> {
    let value = match repl {
        Value::Function(f) => {
            let captures = m.captures(lua, s, e, true)?;
            let _held = Held::publish(held, out.len());
            f.call::<Value>(captures)?
        }
        Value::Table(t) => {
            let key = m.capture_value(lua, 0, s, e)?;
            let _held = Held::publish(held, out.len());
            t.get::<Value>(key)?
        }
        _ => {
            let text = repl_text.unwrap_or_default();
            let mut i = 0;
            while i < text.len() {
                let c = text[i];
                if c != ESC {
                    out.push(c);
                    i += 1;
                    continue;
                }
                i += 1;
                let d = text.get(i).copied().unwrap_or(0);
                if d == ESC {
                    out.push(ESC);
                } else if d == b'0' {
                    out.extend_from_slice(&m.src[s..e]);
                } else if d.is_ascii_digit() {
                    match m.capture_value(lua, usize::from(d - b'1'), s, e)? {
                        Value::String(c) => out.extend_from_slice(&c.as_bytes()),
                        Value::Integer(p) => out.extend_from_slice(p.to_string().as_bytes()),
                        _ => {}
                    }
                } else {
                    return Err(mlua::Error::runtime(
                        "invalid use of '%' in replacement string",
                    ));
                }
                // A replacement that repeats a capture can be far longer than the subject: bounded as it grows,
                // not once it is whole.
                if out.len() > room {
                    return Err(mlua::Error::runtime(MEMERR));
                }
                i += 1;
            }
            return Ok(true);
        }
    };
    match value {
        Value::Nil | Value::Boolean(false) => {
            out.extend_from_slice(&m.src[s..e]);
            Ok(false)
        }
        Value::String(r) => {
            out.extend_from_slice(&r.as_bytes());
            Ok(true)
        }
        v @ (Value::Integer(_) | Value::Number(_)) => {
            let text = lua.coerce_string(v)?;
            if let Some(text) = text {
                out.extend_from_slice(&text.as_bytes());
            }
            Ok(true)
        }
        other => Err(mlua::Error::runtime(format!(
            "invalid replacement value (a {})",
            other.type_name()
        ))),
    }
}
