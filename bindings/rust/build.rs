// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Generates $OUT_DIR/uapi.rs from uapi/linux/chan.h, so that no constant
// or struct layout is copied by hand: every `#define CHAN_*` with a value
// and every `struct chan_*` of the header. The values (the ioctl numbers
// encode the struct sizes; CHAN_CLOEXEC is O_CLOEXEC) and the structs'
// sizes and field offsets come from a small C program compiled with the
// system's C compiler ($CC, else cc) against the header; the Rust structs
// are laid out from the parsed fields and checked against those offsets.
//
// The header: $KCHAN_UAPI_HEADER, else the copy `make install` puts in the
// installed crate (uapi/linux/chan.h next to this file), else the tree's
// ../../uapi/linux/chan.h.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

struct Field {
    name: String,
    ty: &'static str,
    size: usize,
}

fn rust_type(c: &str) -> Option<(&'static str, usize)> {
    Some(match c {
        "__u8" => ("u8", 1),
        "__s8" => ("i8", 1),
        "__u16" => ("u16", 2),
        "__s16" => ("i16", 2),
        "__u32" => ("u32", 4),
        "__s32" => ("i32", 4),
        "__u64" | "__aligned_u64" => ("u64", 8),
        "__s64" => ("i64", 8),
        _ => return None,
    })
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        out.push(' ');
        match rest[i + 2..].find("*/") {
            Some(j) => rest = &rest[i + 2 + j + 2..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn header() -> PathBuf {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    if let Some(h) = env::var_os("KCHAN_UAPI_HEADER") {
        return PathBuf::from(h);
    }
    let installed = dir.join("uapi/linux/chan.h");
    if installed.exists() {
        return installed;
    }
    dir.join("../../uapi/linux/chan.h")
}

fn main() {
    let hdr = header();
    println!("cargo:rerun-if-changed={}", hdr.display());
    println!("cargo:rerun-if-env-changed=KCHAN_UAPI_HEADER");
    println!("cargo:rerun-if-env-changed=CC");
    let text = fs::read_to_string(&hdr)
        .unwrap_or_else(|e| panic!("kchan: cannot read {}: {}", hdr.display(), e));
    let code = strip_comments(&text);

    // #define CHAN_NAME value
    let mut macros = Vec::new();
    let mut strings = Vec::new();
    for line in code.lines() {
        let mut it = line.split_whitespace();
        if it.next() != Some("#define") {
            continue;
        }
        let name = match it.next() {
            Some(n) if n.starts_with("CHAN_") && is_ident(n) => n.to_string(),
            _ => continue,
        };
        let value: Vec<&str> = it.collect();
        if value.is_empty() {
            continue;
        }
        if value[0].starts_with('"') {
            strings.push((name, value.join(" ").trim_matches('"').to_string()));
        } else {
            macros.push(name);
        }
    }

    // struct chan_x { type field; ... };
    let mut structs: Vec<(String, Vec<Field>)> = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("struct chan_") {
        rest = &rest[i + 7..];
        let open = match rest.find(|c: char| c == '{' || c == ';' || c == ')' || c == ',') {
            Some(o) => o,
            None => break,
        };
        let name = rest[..open].trim();
        if !rest[open..].starts_with('{') || !is_ident(name) {
            continue;
        }
        let close = rest.find("};").expect("kchan: unterminated struct");
        let body = &rest[open + 1..close];
        let mut fields = Vec::new();
        for decl in body.split(';').map(str::trim).filter(|d| !d.is_empty()) {
            let parts: Vec<&str> = decl.split_whitespace().collect();
            let (ty, size) = match (parts.len(), rust_type(parts[0])) {
                (2, Some(t)) if is_ident(parts[1]) => t,
                _ => panic!("kchan: cannot map field '{}' of struct {}", decl, name),
            };
            fields.push(Field { name: parts[1].to_string(), ty, size });
        }
        structs.push((name.to_string(), fields));
        rest = &rest[close..];
    }

    // Measure them with the C compiler.
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let mut c = String::new();
    c.push_str("#include <fcntl.h>\n#include <stddef.h>\n#include <stdio.h>\n");
    writeln!(c, "#include \"{}\"", fs::canonicalize(&hdr).unwrap().display()).unwrap();
    c.push_str("int main(void) {\n");
    for m in &macros {
        writeln!(c, "printf(\"M {m} %lld\\n\", (long long)({m}));", m = m).unwrap();
    }
    for (s, fields) in &structs {
        writeln!(c, "printf(\"S {s} %zu\\n\", sizeof(struct {s}));", s = s).unwrap();
        for f in fields {
            writeln!(c, "printf(\"F {s} {f} %zu\\n\", offsetof(struct {s}, {f}));",
                     s = s, f = f.name).unwrap();
        }
    }
    c.push_str("return 0;\n}\n");
    let src = out_dir.join("measure.c");
    let exe = out_dir.join("measure");
    fs::write(&src, c).unwrap();
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let st = Command::new(&cc)
        .arg("-std=gnu11")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("kchan: cannot run the C compiler {}: {}", cc, e));
    assert!(st.success(), "kchan: {} failed on {}", cc, src.display());
    let out = Command::new(&exe).output().expect("kchan: cannot run measure");
    assert!(out.status.success(), "kchan: measure failed");
    let out = String::from_utf8(out.stdout).unwrap();
    let lookup = |kind: &str, key: &str| -> i64 {
        for line in out.lines() {
            let p: Vec<&str> = line.split(' ').collect();
            if p[0] == kind && p[1..p.len() - 1].join(" ") == key {
                return p[p.len() - 1].parse().unwrap();
            }
        }
        panic!("kchan: no {} {} in measure's output", kind, key)
    };

    let mut rs = String::new();
    writeln!(rs, "// Generated by build.rs from {}: do not edit.\n", hdr.display()).unwrap();
    for (name, value) in &strings {
        writeln!(rs, "pub const {}: &str = {:?};", name, value).unwrap();
    }
    for m in &macros {
        let v = lookup("M", m);
        let ty = if m.starts_with("CHAN_IOC_") && m != "CHAN_IOC_MAGIC" {
            "::std::os::raw::c_ulong"
        } else if v >= 0 && v <= u32::MAX as i64 {
            "u32"
        } else {
            "i64"
        };
        writeln!(rs, "pub const {}: {} = {:#x};", m, ty, v).unwrap();
    }
    for (s, fields) in &structs {
        // Natural alignment, as on every Linux ABI for these types
        // (__aligned_u64 is 8-aligned everywhere): checked against C.
        let mut off = 0usize;
        let mut align = 1usize;
        rs.push_str("\n#[repr(C)]\n#[derive(Clone, Copy, Debug, Default)]\n#[allow(non_camel_case_types)]\n");
        writeln!(rs, "pub struct {} {{", s).unwrap();
        for f in fields {
            off = (off + f.size - 1) / f.size * f.size;
            align = align.max(f.size);
            let c_off = lookup("F", &format!("{} {}", s, f.name)) as usize;
            assert_eq!(off, c_off, "kchan: struct {}.{}: offset {} here, {} in C", s, f.name, off, c_off);
            writeln!(rs, "    pub {}: {},", f.name, f.ty).unwrap();
            off += f.size;
        }
        off = (off + align - 1) / align * align;
        let c_size = lookup("S", s) as usize;
        assert_eq!(off, c_size, "kchan: struct {}: size {} here, {} in C", s, off, c_size);
        writeln!(rs, "}}").unwrap();
        writeln!(rs, "const _: () = assert!(::std::mem::size_of::<{}>() == {});", s, c_size).unwrap();
    }
    writeln!(rs, "\n/// Every `CHAN_*` macro of the header, by name.").unwrap();
    write!(rs, "pub const MACROS: &[&str] = &[").unwrap();
    for n in strings.iter().map(|(n, _)| n).chain(macros.iter()) {
        write!(rs, "{:?}, ", n).unwrap();
    }
    writeln!(rs, "];").unwrap();
    fs::write(out_dir.join("uapi.rs"), rs).unwrap();
    // The header the crate was built from, for the drift test.
    println!("cargo:rustc-env=KCHAN_UAPI_HEADER_PATH={}", fs::canonicalize(&hdr).unwrap().display());
}
