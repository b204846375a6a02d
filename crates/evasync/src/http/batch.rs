//! Response operations in bulk. A binding that answers many requests per event batch (pipelined
//! requests, many connections) gathers them in two flat buffers and hands them over in one
//! call, instead of one call (and its argument conversions) per response.
//!
//! `ops` holds records of [`RECORD`] `u32`s: `[op, connection, seq, status, field_count,
//! fields_len, body_len, flags]`. `data` holds, for each record in order, `fields_len` bytes of
//! header fields as `name NUL value NUL …` (`field_count` pairs) and then `body_len` bytes of
//! body (the whole body, or a chunk).

/// Words per record.
pub const RECORD: usize = 8;
/// A whole response.
pub const OP_WHOLE: u32 = 1;
/// The head of a streamed response.
pub const OP_START: u32 = 2;
/// A piece of a streamed response.
pub const OP_CHUNK: u32 = 3;
/// The end of a streamed response.
pub const OP_FINISH: u32 = 4;
/// Deliver what was given for request `seq` (end a streamed response), then close the
/// connection: the application failed after answering.
pub const OP_CLOSE_AFTER: u32 = 5;
/// Record flag: close the connection after this response.
pub const FLAG_CLOSE: u32 = 1;

/// The `count` (name, value) pairs of `fields`, or None when the bytes do not hold exactly that
/// many (a NUL inside a name or value shows up this way, and is refused like any bad byte).
pub fn fields(fields: &[u8], count: u32) -> Option<impl Iterator<Item = (&[u8], &[u8])> + '_> {
    let nuls = fields.iter().filter(|b| **b == 0).count();
    if nuls != 2 * count as usize || fields.last().is_some_and(|b| *b != 0) {
        return None;
    }
    let mut parts = fields.split(|b| *b == 0);
    Some((0..count).filter_map(move |_| Some((parts.next()?, parts.next()?))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_only_when_the_count_matches() {
        let got: Vec<_> = fields(b"A\0x\0B\0\0", 2)
            .map(|f| f.collect())
            .unwrap_or_default();
        assert_eq!(got, vec![(&b"A"[..], &b"x"[..]), (&b"B"[..], &b""[..])]);
        assert!(fields(b"A\0x\0y\0", 1).is_none(), "a NUL inside a value");
        assert!(fields(b"A\0x", 1).is_none(), "truncated");
        assert_eq!(fields(b"", 0).map(|f| f.count()), Some(0));
    }
}
