//! Encryption at rest: the store key, sealed record values and sealed bundle files.
//!
//! The cipher is XChaCha20-Poly1305 (an AEAD: a value that was changed, truncated or sealed under
//! another key fails to open instead of being misread). Its 192-bit nonces are drawn at random
//! for every value, so nonces never need to be tracked.
//!
//! - A **record value** is `0xC5 0x01 ‖ nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`. The
//!   associated data is the tree (table) name and the record's key, so a value copied under
//!   another key does not open. Plain values are JSON objects and start with `{`, so the first
//!   byte tells the two apart.
//! - A **bundle file** is `FILE_MAGIC ‖ nonce prefix (19 bytes) ‖ chunks`: the STREAM
//!   construction (big-endian 32-bit counter and a last-chunk flag in the nonce) over 64 KiB
//!   chunks, so bundles of any size are sealed and opened without holding them in memory, and a
//!   truncated file (even at a chunk boundary) or reordered chunks fail to open. Every chunk but
//!   the last holds exactly [`CHUNK`] bytes; the last holds fewer (possibly none).

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::StoreError;
use crate::record::{CIPHER_NAME, CURRENT, EncryptionRecord, KEY_CHECK, MetaKey, tree};

/// First byte of a sealed record value (a plain value starts with `{`).
const VALUE_TAG: u8 = 0xC5;
/// Version of the sealed value layout.
const VALUE_VERSION: u8 = 1;
/// First bytes of a sealed bundle file; the last byte is the layout version.
pub(crate) const FILE_MAGIC: &[u8; 8] = b"\xC5CBSEAL\x01";
/// Plain bytes per chunk of a sealed file.
const CHUNK: usize = 64 * 1024;
/// Poly1305 tag length.
const TAG: usize = 16;
/// XChaCha20 nonce length.
const NONCE: usize = 24;
/// STREAM nonce prefix length (the nonce less 4 counter bytes and the last-chunk flag).
const PREFIX: usize = NONCE - 5;

/// The 32-byte key that encrypts a store. Its `Debug` never shows the key, and it is wiped from
/// memory when dropped.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

impl StoreKey {
    /// Parse a key written as 64 hex digits or as base64 of 32 bytes (standard or URL-safe
    /// alphabet, padding optional). Surrounding whitespace (a key file's newline) is ignored.
    /// The error says what is wrong, never the text itself.
    pub fn parse(text: &str) -> Result<StoreKey, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the store key is empty".into());
        }
        // Only hex digits: hex (the base64 of 32 random bytes is never that).
        let bytes = if text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| format!("the store key is not valid hex: {e}"))?
        } else {
            use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
            let unpadded = text.trim_end_matches('=');
            STANDARD_NO_PAD
                .decode(unpadded)
                .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
                .map_err(|_| {
                    "the store key must be 32 bytes written as 64 hex digits or as base64 \
                     (`casebot cases keygen` prints one)"
                        .to_string()
                })?
        };
        let bytes = Zeroizing::new(bytes);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "the store key must be 32 bytes, found {} (`casebot cases keygen` prints one)",
                bytes.len()
            )
        })?;
        Ok(StoreKey(Zeroizing::new(key)))
    }

    /// A fresh random key.
    pub fn generate() -> StoreKey {
        StoreKey(Zeroizing::new(rand::random::<[u8; 32]>()))
    }

    /// The key as 64 lowercase hex digits (what `parse` reads back).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_slice())
    }

    pub(crate) fn cipher(&self) -> Cipher {
        Cipher {
            aead: XChaCha20Poly1305::new(self.0.as_slice().into()),
        }
    }
}

/// Why a sealed value or file did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The bytes are not in a sealed layout this build knows.
    NotSealed,
    /// Authentication failed: another key, or the bytes were changed or cut short.
    Rejected,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpenError::NotSealed => "it is not encrypted in a form this casebot knows",
            OpenError::Rejected => {
                "it does not decrypt with the store key (another key, or the data is damaged)"
            }
        })
    }
}

/// A keyed cipher for record values and bundle files.
#[derive(Clone)]
pub(crate) struct Cipher {
    aead: XChaCha20Poly1305,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(XChaCha20-Poly1305)")
    }
}

impl Cipher {
    /// Seal a record value; `aad` binds it to where it is stored.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE] = rand::random();
        let nonce = XNonce::from_slice(&nonce_bytes);
        // Encryption only fails for messages beyond the cipher's length limit (256 GiB).
        let sealed = self
            .aead
            .encrypt(nonce, Payload { msg: plain, aad })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(2 + NONCE + sealed.len());
        out.extend_from_slice(&[VALUE_TAG, VALUE_VERSION]);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    /// Open a value sealed by [`Cipher::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if !is_sealed_value(sealed) || sealed.len() < 2 + NONCE + TAG {
            return Err(OpenError::NotSealed);
        }
        let nonce = XNonce::from_slice(&sealed[2..2 + NONCE]);
        let msg = &sealed[2 + NONCE..];
        self.aead
            .decrypt(nonce, Payload { msg, aad })
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Rejected)
    }

    /// A writer that seals everything written to it into `out` (call [`SealWriter::finish`]).
    pub fn seal_writer<W: Write>(&self, mut out: W) -> io::Result<SealWriter<W>> {
        let prefix: [u8; PREFIX] = rand::random();
        out.write_all(FILE_MAGIC)?;
        out.write_all(&prefix)?;
        Ok(SealWriter {
            stream: Some(EncryptorBE32::from_aead(
                self.aead.clone(),
                prefix.as_slice().into(),
            )),
            buf: Vec::with_capacity(CHUNK),
            out,
        })
    }

    /// A reader of the plain bytes of a sealed file read from `input`. Reading fails with
    /// `InvalidData` (naming the problem) if the file does not open.
    pub fn open_reader<R: Read>(&self, mut input: R) -> io::Result<OpenReader<R>> {
        let mut head = [0u8; FILE_MAGIC.len() + PREFIX];
        read_full(&mut input, &mut head)
            .and_then(|n| {
                if n == head.len() {
                    Ok(())
                } else {
                    Err(invalid(OpenError::NotSealed))
                }
            })
            .map_err(|e| {
                if e.kind() == io::ErrorKind::InvalidData {
                    invalid(OpenError::NotSealed)
                } else {
                    e
                }
            })?;
        if &head[..FILE_MAGIC.len()] != FILE_MAGIC {
            return Err(invalid(OpenError::NotSealed));
        }
        let prefix = &head[FILE_MAGIC.len()..];
        Ok(OpenReader {
            stream: Some(DecryptorBE32::from_aead(self.aead.clone(), prefix.into())),
            input,
            plain: Zeroizing::new(Vec::new()),
            at: 0,
        })
    }
}

/// Does `bytes` look like a sealed record value (rather than a plain JSON one)?
pub(crate) fn is_sealed_value(bytes: &[u8]) -> bool {
    bytes.first() == Some(&VALUE_TAG)
}

/// Plain length of a sealed file of `sealed_len` bytes (`None` if no sealed file has that size).
pub(crate) fn plain_len(sealed_len: u64) -> Option<u64> {
    let body = sealed_len.checked_sub((FILE_MAGIC.len() + PREFIX) as u64)?;
    let whole = (CHUNK + TAG) as u64;
    let last = body % whole;
    if last < TAG as u64 {
        return None;
    }
    Some(body / whole * CHUNK as u64 + last - TAG as u64)
}

fn invalid(e: OpenError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Read until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Seals a bundle as it is written (see the module docs for the layout).
pub(crate) struct SealWriter<W: Write> {
    stream: Option<EncryptorBE32<XChaCha20Poly1305>>,
    buf: Vec<u8>,
    out: W,
}

impl<W: Write> SealWriter<W> {
    /// Seal the last chunk and return the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_buffered(true)?;
        Ok(self.out)
    }

    /// Seal the buffered bytes as the next chunk, or as the last one (which ends the stream),
    /// and write them out.
    fn seal_buffered(&mut self, last: bool) -> io::Result<()> {
        let chunk = self.buf.as_slice();
        let (sealed, ended, failed) = if last {
            let sealed = self.stream.take().map(|s| s.encrypt_last(chunk));
            (sealed, "sealed twice", "cannot seal the last chunk")
        } else {
            let sealed = self.stream.as_mut().map(|s| s.encrypt_next(chunk));
            (sealed, "sealed", "the bundle is too large to seal")
        };
        let sealed = sealed
            .ok_or_else(|| io::Error::other(ended))?
            .map_err(|_| io::Error::other(failed))?;
        self.out.write_all(&sealed)?;
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == CHUNK {
            self.seal_buffered(false)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Reads the plain bytes of a sealed bundle, one chunk at a time.
pub(crate) struct OpenReader<R: Read> {
    stream: Option<DecryptorBE32<XChaCha20Poly1305>>,
    input: R,
    plain: Zeroizing<Vec<u8>>,
    at: usize,
}

impl<R: Read> OpenReader<R> {
    /// Open the next chunk into `self.plain`; false once the last chunk was read.
    fn next_chunk(&mut self) -> io::Result<bool> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        let mut sealed = vec![0u8; CHUNK + TAG];
        let n = read_full(&mut self.input, &mut sealed)?;
        sealed.truncate(n);
        let plain = if n == CHUNK + TAG {
            stream.decrypt_next(sealed.as_slice())
        } else {
            let stream = self
                .stream
                .take()
                .ok_or_else(|| io::Error::other("opened"))?;
            stream.decrypt_last(sealed.as_slice())
        };
        self.plain = Zeroizing::new(plain.map_err(|_| invalid(OpenError::Rejected))?);
        self.at = 0;
        Ok(true)
    }
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.plain.len() {
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// How a store keeps its sensitive record values (cases, unfinished work): plain, or sealed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seal(Option<Cipher>);

impl Seal {
    /// Seal with `cipher`, or keep values plain.
    pub fn new(cipher: Option<Cipher>) -> Seal {
        Seal(cipher)
    }

    /// The cipher, in an encrypted store.
    pub fn cipher(&self) -> Option<&Cipher> {
        self.0.as_ref()
    }

    /// The stored form of `plain`, kept under `key` in `tree`.
    pub fn wrap(&self, tree: &str, key: &[u8], plain: Vec<u8>) -> Vec<u8> {
        match &self.0 {
            Some(cipher) => cipher.seal(&place(tree, key), &plain),
            None => plain,
        }
    }

    /// The plain form of a value stored under `key` in `tree`. A plain value in an encrypted
    /// store, or a sealed one in a plain store, is refused: the two never mix silently.
    pub fn unwrap<'a>(
        &self,
        what: &str,
        tree: &str,
        key: &[u8],
        stored: &'a [u8],
    ) -> Result<Cow<'a, [u8]>, StoreError> {
        let refuse = |reason: &str| StoreError::Codec {
            what: what.into(),
            reason: reason.into(),
        };
        match (&self.0, is_sealed_value(stored)) {
            (Some(cipher), true) => cipher
                .open(&place(tree, key), stored)
                .map(|plain| Cow::Owned(plain.to_vec()))
                .map_err(|e| refuse(&e.to_string())),
            (Some(_), false) => Err(refuse("it is stored unencrypted in an encrypted store")),
            (None, true) => Err(refuse("it is encrypted; open the store with its key")),
            (None, false) => Ok(Cow::Borrowed(stored)),
        }
    }
}

/// A sealed value in a JSON column (PostgreSQL `jsonb`): `{"sealed":"<base64>"}`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedJson {
    sealed: String,
}

impl Seal {
    /// The stored form of `plain` (JSON) for a JSON column: itself, or its sealed form wrapped
    /// in a JSON object.
    pub fn wrap_json(&self, tree: &str, key: &[u8], plain: Vec<u8>) -> Vec<u8> {
        match &self.0 {
            Some(cipher) => {
                let sealed = SealedJson {
                    sealed: base64::engine::general_purpose::STANDARD
                        .encode(cipher.seal(&place(tree, key), &plain)),
                };
                serde_json::to_vec(&sealed).unwrap_or_default()
            }
            None => plain,
        }
    }

    /// The plain JSON of a value stored by [`Seal::wrap_json`]; refuses mixing like
    /// [`Seal::unwrap`].
    pub fn unwrap_json<'a>(
        &self,
        what: &str,
        tree: &str,
        key: &[u8],
        stored: &'a [u8],
    ) -> Result<Cow<'a, [u8]>, StoreError> {
        match serde_json::from_slice::<SealedJson>(stored) {
            Ok(wrapped) => {
                let sealed = base64::engine::general_purpose::STANDARD
                    .decode(wrapped.sealed)
                    .map_err(|e| StoreError::Codec {
                        what: what.into(),
                        reason: format!("its sealed form is not base64: {e}"),
                    })?;
                Ok(Cow::Owned(
                    self.unwrap(what, tree, key, &sealed)?.into_owned(),
                ))
            }
            Err(_) => self.unwrap(what, tree, key, stored),
        }
    }
}

/// Associated data of a value: where it is stored.
fn place(tree: &str, key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(tree.len() + 1 + key.len());
    aad.extend_from_slice(tree.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key);
    aad
}

/// What opening a store with or without a key comes to.
#[derive(Debug)]
pub(crate) enum KeyDecision {
    /// A plain store, no key: records stay plain.
    Plain,
    /// An encrypted store and its key.
    Encrypted(Cipher),
    /// An empty store and a key: write this record, then seal everything.
    Start(Cipher, EncryptionRecord),
}

/// Decide how to open a store whose encryption record is `record` (`None`: a plain store) with
/// `key`. `empty` says the store holds no case, unfinished work or bundle yet; `path` names the
/// store in errors. Refuses an encrypted store without its key, a wrong key, and a key for a
/// plain store that already holds records (see [`StoreError::NotEncrypted`]).
pub(crate) fn decide(
    record: Option<EncryptionRecord>,
    key: Option<&StoreKey>,
    empty: bool,
    path: &Path,
) -> Result<KeyDecision, StoreError> {
    let path = path.to_path_buf();
    match (record, key) {
        (None, None) => Ok(KeyDecision::Plain),
        (Some(_), None) => Err(StoreError::KeyRequired { path }),
        (Some(record), Some(key)) => {
            if record.cipher != CIPHER_NAME {
                return Err(StoreError::Corrupt {
                    path,
                    reason: format!("it is encrypted with an unknown cipher {:?}", record.cipher),
                });
            }
            let cipher = key.cipher();
            let sealed = base64::engine::general_purpose::STANDARD
                .decode(&record.check)
                .unwrap_or_default();
            match cipher.open(&place(tree::META, MetaKey::Encryption.bytes()), &sealed) {
                Ok(plain) if plain.as_slice() == KEY_CHECK => Ok(KeyDecision::Encrypted(cipher)),
                _ => Err(StoreError::WrongKey { path }),
            }
        }
        (None, Some(_)) if !empty => Err(StoreError::NotEncrypted { path }),
        (None, Some(key)) => {
            let cipher = key.cipher();
            let check = cipher.seal(&place(tree::META, MetaKey::Encryption.bytes()), KEY_CHECK);
            let record = EncryptionRecord {
                v: CURRENT,
                cipher: CIPHER_NAME.into(),
                check: base64::engine::general_purpose::STANDARD.encode(check),
            };
            Ok(KeyDecision::Start(cipher, record))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoreKey {
        StoreKey::parse(&"ab".repeat(32)).expect("key")
    }

    fn seal_file(cipher: &Cipher, plain: &[u8]) -> Vec<u8> {
        let mut w = cipher.seal_writer(Vec::new()).expect("writer");
        w.write_all(plain).expect("write");
        w.finish().expect("finish")
    }

    fn open_file(cipher: &Cipher, sealed: &[u8]) -> io::Result<Vec<u8>> {
        let mut plain = Vec::new();
        cipher.open_reader(sealed)?.read_to_end(&mut plain)?;
        Ok(plain)
    }

    #[test]
    fn keys_parse_from_hex_and_base64_and_reject_other_lengths() {
        let hex_key = StoreKey::parse(&format!("  {}\n", "0f".repeat(32))).expect("hex");
        let b64 = base64::engine::general_purpose::STANDARD.encode([0x0f; 32]);
        let b64_key = StoreKey::parse(&b64).expect("base64");
        assert_eq!(hex_key.to_hex(), b64_key.to_hex());
        let short = StoreKey::parse(&"0f".repeat(16)).expect_err("16 bytes");
        assert!(short.contains("32 bytes, found 16"), "{short}");
        let junk = StoreKey::parse("not a key!").expect_err("junk");
        assert!(junk.contains("64 hex digits or as base64"), "{junk}");
        assert!(
            !junk.contains("not a key"),
            "the error never repeats the key text"
        );
        assert_eq!(format!("{hex_key:?}"), "StoreKey(…)");
        assert_ne!(StoreKey::generate().to_hex(), StoreKey::generate().to_hex());
    }

    #[test]
    fn values_open_only_with_their_key_and_place() {
        let cipher = key().cipher();
        let sealed = cipher.seal(b"cases/CAS-1", b"{\"v\":1}");
        assert!(is_sealed_value(&sealed));
        assert_ne!(
            sealed,
            cipher.seal(b"cases/CAS-1", b"{\"v\":1}"),
            "fresh nonce"
        );
        let plain = cipher.open(b"cases/CAS-1", &sealed).expect("opens");
        assert_eq!(plain.as_slice(), b"{\"v\":1}");
        assert_eq!(
            cipher.open(b"cases/CAS-2", &sealed),
            Err(OpenError::Rejected)
        );
        let other = StoreKey::generate().cipher();
        assert_eq!(
            other.open(b"cases/CAS-1", &sealed),
            Err(OpenError::Rejected)
        );
        assert_eq!(cipher.open(b"x", b"{\"v\":1}"), Err(OpenError::NotSealed));
    }

    #[test]
    fn files_round_trip_at_every_chunk_edge_and_refuse_tampering() {
        let cipher = key().cipher();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal_file(&cipher, &plain);
            assert_eq!(
                plain_len(sealed.len() as u64),
                Some(len as u64),
                "len {len}"
            );
            assert_eq!(
                open_file(&cipher, &sealed).expect("opens"),
                plain,
                "len {len}"
            );
            // Cut at a chunk boundary: the last-chunk flag is missing.
            if len >= CHUNK {
                let cut = FILE_MAGIC.len() + PREFIX + CHUNK + TAG;
                let e = open_file(&cipher, &sealed[..cut]).expect_err("truncated");
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            }
            let mut flipped = sealed.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            assert!(open_file(&cipher, &flipped).is_err(), "len {len}");
            let other = StoreKey::generate().cipher();
            assert!(open_file(&other, &sealed).is_err(), "len {len}");
        }
        let e = open_file(&cipher, b"PK\x03\x04 a plain zip").expect_err("plain");
        assert!(e.to_string().contains("not encrypted"), "{e}");
    }
}
