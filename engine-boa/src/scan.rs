//! A cheap, conservative scan of JavaScript source that rejects input nested deeply enough to overflow the native
//! stack of Boa's recursive-descent parser (which aborts the process: Rust cannot catch a stack overflow).
//!
//! Two measures are bounded, both over-approximations of the parser's recursion depth:
//! - **bracket depth**: open `(`, `[`, `{` (and `${` in template literals), skipping string literals, template
//!   text, comments and regular-expression literals;
//! - **chain length**: the number of tokens in one run of an expression or of braceless statements at one bracket
//!   level (`!!!!x`, `a?b:c?d:...`, `1+1+...`, `if(1)if(1)...`, `()=>()=>...`, `a.b.c...`), counted since the last
//!   `;` or `,` at that level, or the last line break that cannot continue an expression; `else` keywords are
//!   counted per level without any reset, because `else if` chains nest.
//!
//! Where a `/` could start a regular expression or be a division and the scan cannot tell (after `}`), it takes
//! the reading that cannot under-count: openers inside count, closers do not.

/// How deeply brackets may nest in source given to the engine.
pub const MAX_NESTING: usize = 256;
/// How many tokens one expression or braceless statement chain may have at one bracket level.
pub const MAX_CHAIN: usize = 4096;

/// Why a source was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooDeep {
    /// Brackets nest deeper than [`MAX_NESTING`]; the line where the limit was passed.
    Nesting { line: usize },
    /// An expression chain is longer than [`MAX_CHAIN`] tokens; the line where the limit was passed.
    Chain { line: usize },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Paren { control: bool },
    Bracket,
    Brace,
    TemplateBrace,
}

/// What the previous significant token was, to tell a regular expression from a division.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Start, an operator or punctuator after which an expression starts: `/` starts a regex.
    Operator,
    /// An identifier, number, string, `]` or a non-control `)`: `/` is a division.
    Value,
    /// A keyword after which an expression starts (`return`, `typeof`, ...): `/` starts a regex.
    Keyword,
    /// A control keyword whose parenthesis follows (`if`, `while`, `for`, `with`).
    Control,
    /// The `)` closing a control parenthesis: `/` starts a regex.
    ControlClose,
    /// `}`: a block or an object literal; ambiguous.
    CloseBrace,
}

struct Level {
    open: Open,
    chain: usize,
    elses: usize,
}

/// Checks `source` against [`MAX_NESTING`] and [`MAX_CHAIN`].
pub fn check(source: &str) -> Result<(), TooDeep> {
    let bytes = source.as_bytes();
    let mut levels: Vec<Level> = vec![Level {
        open: Open::Brace,
        chain: 0,
        elses: 0,
    }];
    let mut line = 1usize;
    let mut prev = Prev::Operator;
    // In a template literal's text (not inside `${ }`): the number of template levels on `levels`.
    let mut in_template = false;
    let mut i = 0usize;
    let n = bytes.len();

    macro_rules! bump {
        () => {{
            let top = levels
                .last_mut()
                .expect("the outermost level is never popped");
            top.chain += 1;
            if top.chain > MAX_CHAIN {
                return Err(TooDeep::Chain { line });
            }
        }};
    }
    macro_rules! push {
        ($open:expr) => {{
            bump!();
            levels.push(Level {
                open: $open,
                chain: 0,
                elses: 0,
            });
            // The outermost level is not a bracket.
            if levels.len() - 1 > MAX_NESTING {
                return Err(TooDeep::Nesting { line });
            }
        }};
    }

    while i < n {
        if in_template {
            // Template text up to the closing backtick or `${`.
            match bytes[i] {
                b'\\' => i += 2,
                b'\n' => {
                    line += 1;
                    i += 1;
                }
                b'`' => {
                    in_template = false;
                    prev = Prev::Value;
                    i += 1;
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    in_template = false;
                    push!(Open::TemplateBrace);
                    prev = Prev::Operator;
                    i += 2;
                }
                _ => i += 1,
            }
            continue;
        }
        let c = bytes[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                // A line break ends a chain unless the expression obviously continues.
                let continues = matches!(
                    prev,
                    Prev::Operator | Prev::Keyword | Prev::Control | Prev::ControlClose
                ) || next_continues(bytes, i);
                if !continues {
                    levels.last_mut().expect("outermost level").chain = 0;
                }
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < n && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < n && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 2;
            }
            b'/' => {
                bump!();
                match prev {
                    Prev::Value => {
                        prev = Prev::Operator;
                        i += 1;
                    }
                    Prev::Operator | Prev::Keyword | Prev::Control | Prev::ControlClose => {
                        i = skip_regex(bytes, i + 1);
                        prev = Prev::Value;
                    }
                    Prev::CloseBrace => {
                        // Either a division (and the rest of the line is code) or a regex: count openers up to
                        // the end of the regex reading, ignore closers.
                        let end = skip_regex(bytes, i + 1);
                        for &b in &bytes[i + 1..end.min(n)] {
                            if matches!(b, b'(' | b'[' | b'{') {
                                push!(Open::Bracket);
                                // Never closed: a permanent over-count, which is the safe direction.
                            }
                        }
                        i = end;
                        prev = Prev::Value;
                    }
                }
            }
            b'\'' | b'"' => {
                i = skip_string(bytes, i + 1, c, &mut line);
                bump!();
                prev = Prev::Value;
            }
            b'`' => {
                bump!();
                in_template = true;
                i += 1;
            }
            b'(' => {
                push!(Open::Paren {
                    control: prev == Prev::Control
                });
                prev = Prev::Operator;
                i += 1;
            }
            b'[' => {
                push!(Open::Bracket);
                prev = Prev::Operator;
                i += 1;
            }
            b'{' => {
                push!(Open::Brace);
                prev = Prev::Operator;
                i += 1;
            }
            b')' | b']' | b'}' => {
                let top = levels.last().expect("outermost level").open;
                let matched = matches!(
                    (c, top),
                    (b')', Open::Paren { .. })
                        | (b']', Open::Bracket)
                        | (b'}', Open::Brace | Open::TemplateBrace)
                );
                // A mismatched closer does not pop: the count only errs upwards.
                if matched && levels.len() > 1 {
                    levels.pop();
                }
                prev = match (c, top) {
                    (b')', Open::Paren { control: true }) => Prev::ControlClose,
                    (b'}', Open::TemplateBrace) if matched => {
                        in_template = true;
                        Prev::Value
                    }
                    (b'}', _) => Prev::CloseBrace,
                    _ => Prev::Value,
                };
                i += 1;
            }
            b';' | b',' => {
                levels.last_mut().expect("outermost level").chain = 0;
                prev = Prev::Operator;
                i += 1;
            }
            b'0'..=b'9' => {
                while i < n && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'_'))
                {
                    i += 1;
                }
                bump!();
                prev = Prev::Value;
            }
            _ if is_ident_byte(c) => {
                let start = i;
                while i < n && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                bump!();
                let word = &bytes[start..i];
                prev = match word {
                    b"if" | b"while" | b"for" | b"with" => Prev::Control,
                    b"else" => {
                        let top = levels.last_mut().expect("outermost level");
                        top.elses += 1;
                        if top.elses > MAX_CHAIN {
                            return Err(TooDeep::Chain { line });
                        }
                        Prev::Keyword
                    }
                    b"return" | b"typeof" | b"void" | b"delete" | b"new" | b"in" | b"of"
                    | b"instanceof" | b"throw" | b"case" | b"do" | b"await" | b"yield" => {
                        Prev::Keyword
                    }
                    _ => Prev::Value,
                };
            }
            _ => {
                // An operator or other punctuator; `.` after a number was consumed with it.
                bump!();
                prev = Prev::Operator;
                i += 1;
                // `++`/`--` after a value leave a value.
                if (c == b'+' || c == b'-') && bytes.get(i) == Some(&c) {
                    i += 1;
                }
            }
        }
    }
    Ok(())
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Whether the next line starts with something that continues the previous expression.
fn next_continues(bytes: &[u8], mut i: usize) -> bool {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r') {
        i += 1;
    }
    match bytes.get(i) {
        Some(
            b'.' | b'(' | b'[' | b'`' | b'+' | b'-' | b'*' | b'%' | b'?' | b':' | b'=' | b'<'
            | b'>' | b'&',
        )
        | Some(b'|' | b'^' | b'!' | b'~') => true,
        Some(b'/') => !matches!(bytes.get(i + 1), Some(b'/' | b'*')),
        Some(_) => {
            bytes[i..].starts_with(b"else")
                || bytes[i..].starts_with(b"in")
                || bytes[i..].starts_with(b"of")
        }
        None => false,
    }
}

/// Skips a string literal body; returns the index after the closing quote (or the end).
fn skip_string(bytes: &[u8], mut i: usize, quote: u8, line: &mut usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    *line += 1;
                }
                i += 2;
            }
            b'\n' => return i, // an unterminated string: the parser reports it
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Skips a regular expression literal body (after its opening `/`): up to the closing `/` outside a class, or
/// the line end (where a regex cannot continue), then its flags.
fn skip_regex(bytes: &[u8], mut i: usize) -> usize {
    let mut class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            b'[' => {
                class = true;
                i += 1;
            }
            b']' => {
                class = false;
                i += 1;
            }
            b'/' if !class => {
                i += 1;
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                return i;
            }
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_passes() {
        let src = r#"
            // a comment with ((((( and }}}}}
            /* block ((( */
            function handle(input) {
                const s = "(((" + '[[[' + `${input.a ? `x${1}` : "}"}`;
                if (input.x) /\)/.test(s); else if (input.y) { return [1, 2, 3].map((x) => x * 2 / 3); }
                return JSON.stringify({ sum: input.items.reduce((a, b) => a + b, 0) });
            }
        "#;
        assert_eq!(check(src), Ok(()));
    }

    #[test]
    fn deep_brackets_fail() {
        for open in ["(", "[", "{", "`${"] {
            let src = open.repeat(MAX_NESTING + 1);
            assert!(
                matches!(check(&src), Err(TooDeep::Nesting { line: 1 })),
                "{open}"
            );
            let ok = open.repeat(MAX_NESTING - 1);
            assert_eq!(check(&ok), Ok(()), "{open}");
        }
    }

    #[test]
    fn closers_in_strings_regexes_and_comments_do_not_count() {
        let level = "( \")\" + ')' /*)*/ + `)` + /)/.source + //)\n";
        let src = level.repeat(MAX_NESTING + 1);
        assert!(matches!(check(&src), Err(TooDeep::Nesting { .. })));
        // After `}`, a regex-or-division must not hide openers.
        let src = format!("x = {{}}/{}", "(".repeat(MAX_NESTING + 1));
        assert!(matches!(check(&src), Err(TooDeep::Nesting { .. })));
    }

    #[test]
    fn long_chains_fail() {
        for unit in [
            "!",
            "- ",
            "1?1:",
            "a=",
            "if(1)",
            "()=>",
            "+1",
            "a.",
            "else if(1)x\n",
            "if(1)\n",
        ] {
            let src = format!("{}1", unit.repeat(MAX_CHAIN + 1));
            assert!(
                matches!(check(&src), Err(TooDeep::Chain { .. })),
                "{unit:?}"
            );
        }
    }

    #[test]
    fn many_statements_pass() {
        let src = "x = x + 1\n".repeat(MAX_CHAIN * 2) + &"y = y + 1;".repeat(MAX_CHAIN * 2);
        assert_eq!(check(&src), Ok(()));
    }
}
