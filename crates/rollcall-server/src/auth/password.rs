//! Password hashes: argon2id in PHC string form, with the cost OWASP suggests (19 MiB, two
//! passes). Hashing takes tens of milliseconds of one core, so it runs on a blocking thread.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 10;

/// How costly a new hash is. Checking uses the cost stored in the hash itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCost {
    /// 19 MiB, 2 passes, 1 lane.
    Standard,
    /// The least argon2 allows: for tests, which hash many passwords.
    Fast,
}

fn hasher(cost: PasswordCost) -> Argon2<'static> {
    let params = match cost {
        PasswordCost::Standard => Params::new(19 * 1024, 2, 1, None),
        PasswordCost::Fast => Params::new(8, 1, 1, None),
    }
    .expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on this thread (only at start, for the stand-in hash).
pub fn hash_now(password: &str, cost: PasswordCost) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher(cost)
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

pub async fn hash(password: String, cost: PasswordCost) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_now(&password, cost))
        .await
        .map_err(ApiError::internal)
}

/// Whether `password` matches `stored`. A stored hash that cannot be read matches nothing.
pub async fn verify(password: String, stored: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            // The parameters come from the stored hash; the default context reads them.
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .map_err(ApiError::internal)
}

/// Refuses a password too weak to keep, with a sentence.
pub fn check_new(password: &str, username: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ApiError::bad_request(format!(
            "Choose a password of at least {MIN_LENGTH} characters; a short sentence is easy to \
             remember and hard to guess."
        )));
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(ApiError::bad_request(
            "The password cannot be the username. Choose another one.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_matches_its_password_only() {
        for cost in [PasswordCost::Fast, PasswordCost::Standard] {
            let stored = hash("correct horse battery".into(), cost).await.unwrap();
            assert!(stored.starts_with("$argon2id$"), "{stored}");
            assert!(verify("correct horse battery".into(), stored.clone())
                .await
                .unwrap());
            assert!(!verify("correct horse battery!".into(), stored)
                .await
                .unwrap());
        }
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[test]
    fn weak_passwords_are_refused_with_a_sentence() {
        assert!(check_new("short", "anna").is_err());
        assert!(check_new("anna.smith1", "Anna.Smith1").is_err());
        assert!(check_new("a long enough one", "anna").is_ok());
    }
}
