//! IP network functions: cidrcontains, cidrhost, cidrnetmask, cidrsubnet, cidrsubnets, with
//! Go's `net` parsing and printing and go-cidr's arithmetic.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A network prefix: its (masked) address, the address width and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Net {
    addr: u128,
    bits: u32,
    len: u32,
}

fn all_ones(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// The host part's mask for a prefix of `len` in an address of `bits`.
fn host_mask(bits: u32, len: u32) -> u128 {
    if len >= bits {
        0
    } else {
        all_ones(bits - len)
    }
}

fn net_mask(bits: u32, len: u32) -> u128 {
    all_ones(bits) & !host_mask(bits, len)
}

fn parse_ip(text: &str) -> Option<(u128, u32)> {
    if let Ok(v4) = text.parse::<Ipv4Addr>() {
        return Some((u128::from(u32::from(v4)), 32));
    }
    text.parse::<Ipv6Addr>()
        .ok()
        .map(|v6| (u128::from(v6), 128))
}

/// Go's `net.ParseCIDR`.
fn parse_cidr(text: &str) -> Result<Net, String> {
    let bad = || format!("invalid CIDR address: {text}");
    let (ip, len) = text.split_once('/').ok_or_else(bad)?;
    let (addr, bits) = parse_ip(ip).ok_or_else(bad)?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 8 {
        return Err(bad());
    }
    let len: u32 = len.parse().map_err(|_| bad())?;
    if len > bits {
        return Err(bad());
    }
    Ok(Net {
        addr: addr & net_mask(bits, len),
        bits,
        len,
    })
}

/// Go's `IP.String()` (IPv4-mapped IPv6 addresses print as IPv4).
fn ip_string(addr: u128, bits: u32) -> String {
    if bits == 32 {
        return Ipv4Addr::from(addr as u32).to_string();
    }
    let v6 = Ipv6Addr::from(addr);
    match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    }
}

impl Net {
    fn contains(&self, addr: u128) -> bool {
        addr & net_mask(self.bits, self.len) == self.addr
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", ip_string(self.addr, self.bits), self.len)
    }
}

fn cidr_arg(args: &Args, i: usize) -> Result<Net, FunctionError> {
    parse_cidr(&args.string(i)?)
        .map_err(|e| FunctionError::new(format!("invalid CIDR expression: {e}")))
}

pub(super) fn cidrhost(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let host = args.int(1)?;
    let net = cidr_arg(args, 0)?;
    let max = host_mask(net.bits, net.len);
    let too_big = || {
        FunctionError::new(format!(
            "prefix of {} does not accommodate a host numbered {host}",
            net.len
        ))
    };
    let offset = if host < 0 {
        let back = u128::from(host.unsigned_abs()) - 1;
        if back > max {
            return Err(too_big());
        }
        max - back
    } else {
        let n = u128::from(host.unsigned_abs());
        if n > max {
            return Err(too_big());
        }
        n
    };
    Ok(Value::String(ip_string(net.addr | offset, net.bits)))
}

pub(super) fn cidrnetmask(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let net = cidr_arg(args, 0)?;
    Ok(Value::String(ip_string(
        net_mask(net.bits, net.len),
        net.bits,
    )))
}

pub(super) fn cidrsubnet(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let newbits = args.int(1)?;
    let netnum = args.int(2)?;
    let net = cidr_arg(args, 0)?;
    if newbits > 32 {
        return Err(FunctionError::new(
            "may not extend prefix by more than 32 bits",
        ));
    }
    if newbits < 0 {
        return Err(args.err(1, "must not be negative"));
    }
    let newbits = newbits as u32;
    let new_len = net.len + newbits;
    if new_len > net.bits {
        return Err(FunctionError::new(format!(
            "insufficient address space to extend prefix of {} by {newbits}",
            net.len
        )));
    }
    let max = all_ones(newbits);
    let num = u128::try_from(netnum)
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| {
            FunctionError::new(format!(
                "prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"
            ))
        })?;
    let shift = net.bits - new_len;
    let addr = net.addr | if shift >= 128 { 0 } else { num << shift };
    Ok(Value::String(
        Net {
            addr,
            bits: net.bits,
            len: new_len,
        }
        .to_string(),
    ))
}

pub(super) fn cidrsubnets(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let net = parse_cidr(&args.string(0)?)
        .map_err(|e| args.err(0, format!("invalid CIDR expression: {e}")))?;
    if args.len() == 1 {
        return Ok(Value::List(Vec::new()));
    }
    let wrap = |a: u128| a & all_ones(net.bits);
    let first = args.int(1)?;
    let first_len = (i64::from(net.len) + first).clamp(0, i64::from(net.bits)) as u32;
    // go-cidr's PreviousSubnet: the block of the first size just below the prefix.
    let mut current = Net {
        addr: wrap(net.addr.wrapping_sub(1)) & net_mask(net.bits, first_len),
        bits: net.bits,
        len: first_len,
    };
    let mut out = Vec::new();
    for i in 1..args.len() {
        let newbits = args.int(i)?;
        if newbits < 1 {
            return Err(args.err(i, "must extend prefix by at least one bit"));
        }
        if newbits > 32 {
            return Err(args.err(i, "may not extend prefix by more than 32 bits"));
        }
        let len = net.len + newbits as u32;
        if len > net.bits {
            let family = if net.bits == 32 { "IPv4" } else { "IPv6" };
            return Err(args.err(
                i,
                format!(
                    "would extend prefix to {len} bits, which is too long for an {family} address"
                ),
            ));
        }
        // go-cidr's NextSubnet.
        let mask = net_mask(net.bits, len);
        let current_last = current.addr | host_mask(net.bits, current.len);
        let last = (current_last & mask) | host_mask(net.bits, len);
        let after = wrap(last.wrapping_add(1));
        let next = Net {
            addr: after & mask,
            bits: net.bits,
            len,
        };
        if after == 0 || !net.contains(next.addr) {
            return Err(args.err(
                i,
                format!("not enough remaining address space for a subnet with a prefix of {len} bits after {current}"),
            ));
        }
        current = next;
        out.push(Value::String(current.to_string()));
    }
    Ok(Value::List(out))
}

pub(super) fn cidrcontains(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let prefix = args.string(0)?;
    let other = args.string(1)?;
    let containing = parse_cidr(&prefix).map_err(|e| args.err(0, e))?;
    let (start, end, bits) = match parse_ip(&other) {
        Some((addr, bits)) => (addr, addr, bits),
        None => {
            let inner = parse_cidr(&other).map_err(|_| {
                args.err(
                    1,
                    format!("{other:?} is not a valid IP address or CIDR prefix"),
                )
            })?;
            (
                inner.addr,
                inner.addr | host_mask(inner.bits, inner.len),
                inner.bits,
            )
        }
    };
    if bits != containing.bits {
        return Err(FunctionError::new(format!(
            "address family mismatch: {prefix:?} vs. {other:?}"
        )));
    }
    Ok(Value::Bool(
        containing.contains(start) && containing.contains(end),
    ))
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;
    use crate::value::Value;

    #[test]
    fn fixture_cidrhost_netmask() {
        assert_eq!(
            ok("cidrhost", vec![s("10.12.112.0/20"), i(16)]),
            s("10.12.112.16")
        );
        assert_eq!(
            ok("cidrhost", vec![s("10.12.112.0/20"), i(268)]),
            s("10.12.113.12")
        );
        assert_eq!(
            ok("cidrhost", vec![s("10.0.0.0/24"), i(-1)]),
            s("10.0.0.255")
        );
        assert_eq!(
            fails("cidrhost", vec![s("10.0.0.0/24"), i(256)]),
            "prefix of 24 does not accommodate a host numbered 256"
        );
        assert_eq!(
            ok("cidrhost", vec![s("fd00:fd12:3456:7890:00a2::/72"), i(34)]),
            s("fd00:fd12:3456:7890::22")
        );
        assert_eq!(
            fails("cidrhost", vec![s("not a cidr"), i(1)]),
            "invalid CIDR expression: invalid CIDR address: not a cidr"
        );
        assert_eq!(
            ok("cidrnetmask", vec![s("172.16.0.0/12")]),
            s("255.240.0.0")
        );
        assert_eq!(
            ok("cidrnetmask", vec![s("10.0.0.0/32")]),
            s("255.255.255.255")
        );
        assert_eq!(
            ok("cidrnetmask", vec![s("fd00::/64")]),
            s("ffff:ffff:ffff:ffff::")
        );
        assert_eq!(
            ok("cidrhost", vec![s("::/0"), i(-1)]),
            s("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        );
        fails("cidrhost", vec![s("10.0.0.0/33"), i(1)]);
    }

    #[test]
    fn fixture_cidrsubnet() {
        assert_eq!(
            ok("cidrsubnet", vec![s("172.16.0.0/12"), i(4), i(2)]),
            s("172.18.0.0/16")
        );
        assert_eq!(
            ok("cidrsubnet", vec![s("10.1.2.0/24"), i(4), i(15)]),
            s("10.1.2.240/28")
        );
        assert_eq!(
            ok(
                "cidrsubnet",
                vec![s("fd00:fd12:3456:7890::/56"), i(16), i(162)]
            ),
            s("fd00:fd12:3456:7800:a200::/72")
        );
        assert_eq!(
            fails("cidrsubnet", vec![s("10.0.0.0/24"), i(4), i(16)]),
            "prefix extension of 4 does not accommodate a subnet numbered 16"
        );
        assert_eq!(
            fails("cidrsubnet", vec![s("10.0.0.0/30"), i(4), i(0)]),
            "insufficient address space to extend prefix of 30 by 4"
        );
        assert_eq!(
            ok("cidrsubnet", vec![s("10.0.0.0/8"), i(0), i(0)]),
            s("10.0.0.0/8")
        );
    }

    #[test]
    fn fixture_cidrsubnets() {
        let v = ok(
            "cidrsubnets",
            vec![s("10.1.0.0/16"), i(4), i(4), i(8), i(4)],
        );
        assert_eq!(
            json(&v),
            r#"["10.1.0.0/20","10.1.16.0/20","10.1.32.0/24","10.1.48.0/20"]"#
        );
        let v = ok(
            "cidrsubnets",
            vec![s("fd00:fd12:3456:7890::/56"), i(16), i(16), i(16), i(32)],
        );
        assert_eq!(
            json(&v),
            r#"["fd00:fd12:3456:7800::/72","fd00:fd12:3456:7800:100::/72","fd00:fd12:3456:7800:200::/72","fd00:fd12:3456:7800:300::/88"]"#
        );
        assert_eq!(json(&ok("cidrsubnets", vec![s("10.0.0.0/24")])), "[]");
        let m = fails("cidrsubnets", vec![s("10.0.0.0/30"), i(4)]);
        assert!(
            m.ends_with("would extend prefix to 34 bits, which is too long for an IPv4 address"),
            "{m}"
        );
        let m = fails("cidrsubnets", vec![s("10.0.0.0/24"), i(1), i(1), i(1)]);
        assert!(m.contains("not enough remaining address space for a subnet with a prefix of 25 bits after 10.0.0.128/25"), "{m}");
        // go-cidr counts wrapping past 255.255.255.255 as running out, even from 0.0.0.0/0.
        assert!(fails("cidrsubnets", vec![s("0.0.0.0/0"), i(1), i(1)])
            .contains("not enough remaining address space"));
        assert_eq!(
            json(&ok("cidrsubnets", vec![s("10.0.0.0/8"), i(1), i(1)])),
            r#"["10.0.0.0/9","10.128.0.0/9"]"#
        );
    }

    #[test]
    fn cidrcontains_checks_both_ends() {
        assert_eq!(
            ok("cidrcontains", vec![s("10.0.0.0/8"), s("10.1.2.3")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("cidrcontains", vec![s("10.0.0.0/8"), s("11.0.0.1")]),
            Value::Bool(false)
        );
        assert_eq!(
            ok("cidrcontains", vec![s("10.0.0.0/8"), s("10.1.0.0/16")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("cidrcontains", vec![s("10.0.0.0/16"), s("10.0.0.0/8")]),
            Value::Bool(false)
        );
        assert!(fails("cidrcontains", vec![s("10.0.0.0/8"), s("::1")])
            .contains("address family mismatch"));
        assert!(
            fails("cidrcontains", vec![s("10.0.0.0/8"), s("x")]).contains("not a valid IP address")
        );
    }
}
