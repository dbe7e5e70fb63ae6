//! The subset of Python literals that NumPy writes as the header of a `.npy` file: a dict of
//! strings (either quote style), booleans, `None`, integers (with Python 2's `L` suffix) and
//! tuples and lists of them, with whitespace and trailing commas anywhere Python allows them.
//!
//! The parser is bounded by construction: nesting deeper than [`MAX_DEPTH`] or more than
//! [`MAX_VALUES`] values is an error, so neither the stack nor the heap grows with a crafted
//! header beyond a fixed size.

/// The deepest nesting of tuples, lists and dicts accepted (NumPy's headers nest at most a few
/// levels, even for structured dtypes).
pub(super) const MAX_DEPTH: usize = 32;

/// The most values a header may hold (a shape has at most 64 axes in NumPy).
pub(super) const MAX_VALUES: usize = 4096;

/// A Python literal.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Literal {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

impl Literal {
    /// How the value reads in an error message (a Python-like rendering, cut short).
    pub(super) fn describe(&self) -> String {
        let mut text = match self {
            Literal::Str(s) => format!("'{s}'"),
            Literal::Int(i) => i.to_string(),
            Literal::Bool(true) => "True".into(),
            Literal::Bool(false) => "False".into(),
            Literal::None => "None".into(),
            Literal::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(Literal::describe).collect();
                if items.len() == 1 {
                    format!("({},)", inner[0])
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            Literal::List(items) => {
                let inner: Vec<String> = items.iter().map(Literal::describe).collect();
                format!("[{}]", inner.join(", "))
            }
            Literal::Dict(_) => "{...}".into(),
        };
        if text.len() > 80 {
            let mut end = 77;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push_str("...");
        }
        text
    }
}

/// Parses `text` as one Python literal, surrounded by optional whitespace.
pub(super) fn parse(text: &str) -> Result<Literal, String> {
    let mut parser = Parser {
        chars: text.char_indices().peekable(),
        values: 0,
    };
    let value = parser.value(0)?;
    parser.skip_space();
    match parser.chars.peek() {
        None => Ok(value),
        Some(&(at, c)) => Err(format!("unexpected {c:?} at offset {at} after the value")),
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    values: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self
            .chars
            .next_if(|&(_, c)| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'))
            .is_some()
        {}
    }

    fn value(&mut self, depth: usize) -> Result<Literal, String> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(format!(
                "more than {MAX_VALUES} values; a NumPy header holds a few"
            ));
        }
        self.skip_space();
        let Some(&(at, c)) = self.chars.peek() else {
            return Err("it ends where a value should be".into());
        };
        let nested = |depth: usize| {
            if depth >= MAX_DEPTH {
                Err(format!("values nested deeper than {MAX_DEPTH} levels"))
            } else {
                Ok(depth + 1)
            }
        };
        match c {
            '{' => {
                let depth = nested(depth)?;
                self.chars.next();
                let mut entries = Vec::new();
                loop {
                    self.skip_space();
                    if self.chars.next_if(|&(_, c)| c == '}').is_some() {
                        return Ok(Literal::Dict(entries));
                    }
                    let key = self.value(depth)?;
                    self.expect(':')?;
                    let value = self.value(depth)?;
                    entries.push((key, value));
                    if !self.separator('}')? {
                        return Ok(Literal::Dict(entries));
                    }
                }
            }
            '(' | '[' => {
                let depth = nested(depth)?;
                let close = if c == '(' { ')' } else { ']' };
                self.chars.next();
                let mut items = Vec::new();
                let mut trailing_comma = false;
                loop {
                    self.skip_space();
                    if self.chars.next_if(|&(_, c)| c == close).is_some() {
                        break;
                    }
                    items.push(self.value(depth)?);
                    trailing_comma = self.separator(close)?;
                    if !trailing_comma {
                        break;
                    }
                }
                Ok(match (c, items.len(), trailing_comma) {
                    // `(x)` is x itself; `(x,)` a tuple of one.
                    ('(', 1, false) => items.pop().unwrap_or(Literal::None),
                    ('(', _, _) => Literal::Tuple(items),
                    _ => Literal::List(items),
                })
            }
            '\'' | '"' => self.string(),
            'u' | 'U' | 'b' | 'B' | 'r' | 'R' => {
                // A string prefix (Python 2's u'<f4', a raw string) or a bare word.
                let mut lookahead = self.chars.clone();
                lookahead.next();
                if matches!(lookahead.peek(), Some(&(_, '\'' | '"'))) {
                    self.chars.next();
                    self.string()
                } else {
                    self.word(at)
                }
            }
            '0'..='9' | '-' | '+' => self.integer(at),
            _ => self.word(at),
        }
    }

    /// After an item: `true` after a comma (another item may follow), `false` after `close`.
    fn separator(&mut self, close: char) -> Result<bool, String> {
        self.skip_space();
        match self.chars.next() {
            Some((_, ',')) => Ok(true),
            Some((_, c)) if c == close => Ok(false),
            Some((at, c)) => Err(format!(
                "expected `,` or `{close}` at offset {at}, found {c:?}"
            )),
            None => Err(format!("it ends before the closing `{close}`")),
        }
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        self.skip_space();
        match self.chars.next() {
            Some((_, c)) if c == want => Ok(()),
            Some((at, c)) => Err(format!("expected `{want}` at offset {at}, found {c:?}")),
            None => Err(format!("it ends where `{want}` should be")),
        }
    }

    fn string(&mut self) -> Result<Literal, String> {
        let Some((start, quote)) = self.chars.next() else {
            return Err("it ends where a string should be".into());
        };
        let mut text = String::new();
        loop {
            match self.chars.next() {
                Some((_, c)) if c == quote => return Ok(Literal::Str(text)),
                Some((_, '\\')) => match self.chars.next() {
                    Some((_, c @ ('\\' | '\'' | '"'))) => text.push(c),
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, 't')) => text.push('\t'),
                    Some((_, c)) => {
                        text.push('\\');
                        text.push(c);
                    }
                    None => break,
                },
                Some((_, '\n')) | None => break,
                Some((_, c)) => text.push(c),
            }
        }
        Err(format!("the string opened at offset {start} is not closed"))
    }

    fn integer(&mut self, at: usize) -> Result<Literal, String> {
        let sign = self.chars.next_if(|&(_, c)| c == '-' || c == '+');
        let negative = matches!(sign, Some((_, '-')));
        let mut value: i128 = 0;
        let mut digits = 0;
        while let Some((_, d)) = self.chars.next_if(|(_, c)| c.is_ascii_digit()) {
            digits += 1;
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(d as u8 - b'0')))
                .ok_or_else(|| format!("the integer at offset {at} is too large"))?;
        }
        if digits == 0 {
            return Err(format!("expected digits at offset {at}"));
        }
        // Python 2 wrote long integers with an `L`.
        self.chars.next_if(|&(_, c)| c == 'L' || c == 'l');
        Ok(Literal::Int(if negative { -value } else { value }))
    }

    fn word(&mut self, at: usize) -> Result<Literal, String> {
        let mut word = String::new();
        while let Some((_, c)) = self.chars.next_if(|(_, c)| c.is_ascii_alphanumeric()) {
            word.push(c);
            if word.len() > 8 {
                break;
            }
        }
        match word.as_str() {
            "True" => Ok(Literal::Bool(true)),
            "False" => Ok(Literal::Bool(false)),
            "None" => Ok(Literal::None),
            "" => {
                let c = self.chars.peek().map_or(' ', |&(_, c)| c);
                Err(format!("unexpected {c:?} at offset {at}"))
            }
            other => Err(format!(
                "unexpected `{other}` at offset {at} (expected a string, a number, True, False, \
                 None, a tuple, a list or a dict)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(entries: &[(&str, Literal)]) -> Literal {
        Literal::Dict(
            entries
                .iter()
                .map(|(k, v)| (Literal::Str(k.to_string()), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn parses_the_header_numpy_writes_in_either_quote_style() {
        let expected = dict(&[
            ("descr", Literal::Str("<f4".into())),
            ("fortran_order", Literal::Bool(false)),
            (
                "shape",
                Literal::Tuple(vec![Literal::Int(2), Literal::Int(3)]),
            ),
        ]);
        let single = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   \n";
        let double = "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3)}";
        assert_eq!(parse(single), Ok(expected.clone()));
        assert_eq!(parse(double), Ok(expected));
    }

    #[test]
    fn tells_a_tuple_of_one_from_a_parenthesized_value() {
        assert_eq!(parse("(3,)"), Ok(Literal::Tuple(vec![Literal::Int(3)])));
        assert_eq!(parse("(3)"), Ok(Literal::Int(3)));
        assert_eq!(parse("()"), Ok(Literal::Tuple(vec![])));
        assert_eq!(parse("(3L, 4L)").map(|l| l.describe()), Ok("(3, 4)".into()));
    }

    #[test]
    fn refuses_deep_nesting_and_unclosed_values_without_panicking() {
        let deep = "(".repeat(100_000);
        assert!(parse(&deep).unwrap_err().contains("nested deeper"));
        assert!(parse("{'descr': '<f4").unwrap_err().contains("not closed"));
        assert!(parse("{'a': 1").unwrap_err().contains("closing"));
        assert!(parse("(1, 2) x").is_err());
        assert!(parse(&"9".repeat(60)).unwrap_err().contains("too large"));
        let many = format!("({})", "1,".repeat(MAX_VALUES + 1));
        assert!(parse(&many).unwrap_err().contains("values"));
    }
}
