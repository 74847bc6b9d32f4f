//! Standard Webhooks 1.0 headers. The signature covers
//! `{webhook-id}.{webhook-timestamp}.{body}` with the exact body bytes that
//! are sent (the original signed another serialisation: issue 6). During a
//! secret rotation both secrets sign, space-separated, so a receiver holding
//! either verifies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `v1,<base64 HMAC-SHA256>` for each key, space-separated.
pub fn signature(id: &str, timestamp: i64, body: &[u8], keys: &[Vec<u8>]) -> String {
    keys.iter()
        .filter_map(|key| {
            // HMAC takes a key of any length; new_from_slice never fails for it.
            let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference vector.
    #[test]
    fn signs_the_reference_vector() -> Result<(), base64::DecodeError> {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
        let sig = signature(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
            &[key],
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        Ok(())
    }

    #[test]
    fn both_secrets_sign_during_a_rotation() {
        let sig = signature("m", 1, b"{}", &[vec![1; 32], vec![2; 32]]);
        let parts: Vec<&str> = sig.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }
}
