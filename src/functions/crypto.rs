//! Hash, crypto and UUID functions: bcrypt, md5, rsadecrypt, sha1, sha256, sha512, uuid,
//! uuidv4, uuidv5.

use super::args::Args;
use super::encoding::decode_base64;
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use rsa::pkcs1::DecodeRsaPrivateKey;
use sha2::Digest;
use std::fmt::Write;

/// Lowercase hexadecimal, as Go's `%x` prints a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub(super) fn md5(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&md5::Md5::digest(
        args.string(0)?.as_bytes(),
    ))))
}

pub(super) fn sha1(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&sha1::Sha1::digest(
        args.string(0)?.as_bytes(),
    ))))
}

pub(super) fn sha256(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&sha2::Sha256::digest(
        args.string(0)?.as_bytes(),
    ))))
}

pub(super) fn sha512(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&sha2::Sha512::digest(
        args.string(0)?.as_bytes(),
    ))))
}

pub(super) fn bcrypt(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let password = args.string(0)?;
    let cost = match args.len() {
        1 => 10,
        2 => args.int(1)?,
        _ => {
            return Err(FunctionError::new(
                "bcrypt() takes no more than two arguments",
            ))
        }
    };
    // Go's bcrypt quietly uses its default for a cost below the minimum.
    let cost = if cost < 4 { 10 } else { cost };
    if cost > 31 {
        return Err(FunctionError::new(format!(
            "error occured generating password crypto/bcrypt: cost {cost} is outside allowed range (4,31)"
        )));
    }
    let parts = ::bcrypt::hash_with_result(password.as_bytes(), cost as u32)
        .map_err(|e| FunctionError::new(format!("error occured generating password {e}")))?;
    Ok(Value::String(
        parts.format_for_version(::bcrypt::Version::TwoA),
    ))
}

pub(super) fn rsadecrypt(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let ciphertext = args.string(0)?;
    let key = args.string(1)?;
    let bytes = decode_base64(&ciphertext).map_err(|_| {
        FunctionError::new(format!(
            "failed to decode input {ciphertext:?}: cipher text must be base64-encoded"
        ))
    })?;
    let block =
        pem_block(&key).ok_or_else(|| FunctionError::new("failed to parse key: no key found"))?;
    if block.encrypted {
        return Err(FunctionError::new(
            "failed to parse key: password protected keys are not supported. Please decrypt the key prior to use",
        ));
    }
    let key = rsa::RsaPrivateKey::from_pkcs1_der(&block.der)
        .map_err(|e| FunctionError::new(format!("x509: failed to parse private key: {e}")))?;
    let plain = key
        .decrypt(rsa::Pkcs1v15Encrypt, &bytes)
        .map_err(|_| FunctionError::new("crypto/rsa: decryption error"))?;
    Ok(Value::String(String::from_utf8_lossy(&plain).into_owned()))
}

/// The first PEM block in `text`, as Go's `pem.Decode` finds it.
struct PemBlock {
    der: Vec<u8>,
    encrypted: bool,
}

fn pem_block(text: &str) -> Option<PemBlock> {
    let mut rest = text;
    loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + "-----BEGIN ".len()..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let header = after[..line_end].trim_end_matches('\r');
        let Some(label) = header.strip_suffix("-----") else {
            rest = after;
            continue;
        };
        let body = &after[line_end..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body.find(&end_marker) else {
            rest = after;
            continue;
        };
        let mut encrypted = false;
        let mut data = String::new();
        for line in body[..end].lines() {
            let line = line.trim();
            if let Some((k, v)) = line.split_once(':') {
                if k.trim() == "Proc-Type" && v.trim() == "4,ENCRYPTED" {
                    encrypted = true;
                }
                continue;
            }
            data.push_str(line);
        }
        let der = decode_base64(&data).ok()?;
        return Some(PemBlock { der, encrypted });
    }
}

pub(super) fn uuidv4(_: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

pub(super) fn uuidv5(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let ns_text = args.string(0)?;
    let name = args.string(1)?;
    let namespace = match ns_text.as_str() {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other).map_err(|_| {
            // google/uuid's wording.
            let why = match other.len() {
                32 | 36 | 38 | 45 => "invalid UUID format".to_string(),
                n => format!("invalid UUID length: {n}"),
            };
            FunctionError::new(format!(
                "uuidv5() doesn't support namespace {other} ({why})"
            ))
        })?,
    };
    Ok(Value::String(
        uuid::Uuid::new_v5(&namespace, name.as_bytes()).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::functions::tests::*;

    const CIPHERTEXT: &str = "c/m3ZD2GBGPQO1QNQOlMApfcOrWRcfdXyb/OQc24/qn+MTmvQZ97YQxqdiEk6I8KZcsioH9WobtFkEfs5BZ4txTfxGgYddn/MSEjgBCzEDb/wsK2sONOhMDSDSSzKom38/AxVIZr5NZkVQaxJxiTGp09O3ch0GwowqcOTmQtDQ0=";

    #[test]
    fn fixture_hashes() {
        assert_eq!(
            ok("md5", vec![s("hello world")]),
            s("5eb63bbbe01eeed093cb22bb8f5acdc3")
        );
        assert_eq!(
            ok("md5", vec![s("")]),
            s("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(
            ok("sha1", vec![s("hello world")]),
            s("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")
        );
        assert_eq!(
            ok("sha1", vec![s("")]),
            s("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
        assert_eq!(
            ok("sha256", vec![s("hello world")]),
            s("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        );
        assert_eq!(
            ok("sha256", vec![s("é")]),
            s("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c")
        );
        assert_eq!(ok("sha512", vec![s("hello world")]), s("309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"));
        assert_eq!(ok("sha512", vec![s("")]), s("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"));
    }

    #[test]
    fn fixture_bcrypt() {
        let h = ok("bcrypt", vec![s("hello world")]);
        let h = h.as_str().unwrap_or_default().to_string();
        assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
        assert!(::bcrypt::verify("hello world", &h).unwrap_or(false));
        let h4 = ok("bcrypt", vec![s("hello"), i(4)]);
        assert!(h4.as_str().is_some_and(|h| h.starts_with("$2a$04$")));
        assert_eq!(ok("length", vec![ok("bcrypt", vec![s("x"), i(4)])]), i(60));
        assert_eq!(
            fails("bcrypt", vec![s("x"), i(100)]),
            "error occured generating password crypto/bcrypt: cost 100 is outside allowed range (4,31)"
        );
    }

    #[test]
    fn fixture_rsadecrypt() {
        let key = ok("file", vec![s("files/rsa-key.pem")]);
        assert_eq!(
            ok("rsadecrypt", vec![s(CIPHERTEXT), key.clone()]),
            s("kiln says hi")
        );
        assert_eq!(
            fails("rsadecrypt", vec![s("not base64!"), key.clone()]),
            "failed to decode input \"not base64!\": cipher text must be base64-encoded"
        );
        assert_eq!(
            fails("rsadecrypt", vec![s(CIPHERTEXT), s("not a key")]),
            "failed to parse key: no key found"
        );
        fails("rsadecrypt", vec![s("AAAA"), key]);
    }

    #[test]
    fn fixture_uuids() {
        let u = ok("uuidv4", vec![]);
        let u = u.as_str().unwrap_or_default();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(ok("length", vec![ok("uuid", vec![])]), i(36));
        assert_eq!(
            ok("uuidv5", vec![s("dns"), s("www.terraform.io")]),
            s("a5008fae-b28c-5ba5-96cd-82b4c53552d6")
        );
        assert_eq!(
            ok("uuidv5", vec![s("url"), s("https://www.terraform.io/")]),
            s("9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5")
        );
        assert_eq!(
            ok("uuidv5", vec![s("oid"), s("1.2.3")]),
            s("42d5e23b-3a02-5135-85c6-52d1102f1f00")
        );
        assert_eq!(
            ok("uuidv5", vec![s("x500"), s("CN=Test")]),
            s("5e2003ce-30b7-5e3b-8c3a-a164acc5b21e")
        );
        assert_eq!(
            ok(
                "uuidv5",
                vec![
                    s("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
                    s("www.terraform.io")
                ]
            ),
            s("a5008fae-b28c-5ba5-96cd-82b4c53552d6")
        );
        assert_eq!(
            fails("uuidv5", vec![s("nope"), s("x")]),
            "uuidv5() doesn't support namespace nope (invalid UUID length: 4)"
        );
    }
}
