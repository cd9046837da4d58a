//! Just enough of the Wasm binary format to list a module's imports and exports: what a
//! gateway vendor must provide (imports) and what the host may call (exports).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    pub module: String,
    pub name: String,
    /// `func`, `table`, `memory` or `global`.
    pub kind: &'static str,
}

impl fmt::Display for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} ({})", self.module, self.name, self.kind)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Export {
    pub name: String,
    pub kind: &'static str,
}

#[derive(Debug, Default, Clone)]
pub struct Interface {
    pub imports: Vec<Import>,
    pub exports: Vec<Export>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = self
            .bytes
            .get(self.pos)
            .copied()
            .ok_or_else(|| "unexpected end of module".to_string())?;
        self.pos += 1;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let mut result: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            result |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 35 {
                return Err("LEB128 value too long".into());
            }
        }
        u32::try_from(result).map_err(|_| "LEB128 value out of range".to_string())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| "unexpected end of module".to_string())?;
        let out = self.bytes.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(out)
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec()).map_err(|_| "name is not UTF-8".to_string())
    }

    fn limits(&mut self) -> Result<(), String> {
        let flags = self.byte()?;
        self.u32()?;
        if flags & 1 == 1 {
            self.u32()?;
        }
        Ok(())
    }
}

fn kind(k: u8) -> &'static str {
    match k {
        0 => "func",
        1 => "table",
        2 => "memory",
        3 => "global",
        4 => "tag",
        _ => "unknown",
    }
}

/// Lists the imports and exports of a module.
pub fn interface(wasm: &[u8]) -> Result<Interface, String> {
    if !crate::oci::is_wasm(wasm) {
        return Err("not a Wasm module (magic number or version)".into());
    }
    let mut r = Reader {
        bytes: wasm,
        pos: 8,
    };
    let mut out = Interface::default();
    while r.pos < wasm.len() {
        let id = r.byte()?;
        let size = r.u32()? as usize;
        let body = r.take(size)?;
        let mut s = Reader {
            bytes: body,
            pos: 0,
        };
        match id {
            2 => {
                for _ in 0..s.u32()? {
                    let module = s.name()?;
                    let name = s.name()?;
                    let k = s.byte()?;
                    match k {
                        0 => {
                            s.u32()?;
                        }
                        1 => {
                            s.byte()?;
                            s.limits()?;
                        }
                        2 => s.limits()?,
                        3 => {
                            s.byte()?;
                            s.byte()?;
                        }
                        _ => return Err(format!("unknown import kind {k}")),
                    }
                    out.imports.push(Import {
                        module,
                        name,
                        kind: kind(k),
                    });
                }
            }
            7 => {
                for _ in 0..s.u32()? {
                    let name = s.name()?;
                    let k = s.byte()?;
                    s.u32()?;
                    out.exports.push(Export {
                        name,
                        kind: kind(k),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}
