//! The SSO master secret server, modelled with a real database: the master secret that every
//! processing server fetches and caches, and the encrypted credentials written through it when a
//! configuration changes. It lives in the `sso` schema: on a server of its own, or beside the
//! MessageBox (and then it fails over with it).

use tokio_postgres::Client;

use crate::messagebox::OpError;
use crate::rng::Rng;

pub const SCHEMA: &str = "sso";

/// Drops and recreates the schema with a fresh master secret (32 random bytes from `seed`).
pub async fn install(client: &Client, seed: u64) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.master_secret (
    id int PRIMARY KEY,
    secret bytea NOT NULL,
    created timestamptz NOT NULL DEFAULT now());
CREATE TABLE {SCHEMA}.credentials (
    id bigserial PRIMARY KEY,
    application text NOT NULL,
    blob bytea NOT NULL,
    written timestamptz NOT NULL DEFAULT now());"
        ))
        .await?;
    let mut rng = Rng::new(seed).fork(0x550);
    let secret: Vec<u8> = (0..4).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    client.execute(&format!("INSERT INTO {SCHEMA}.master_secret (id, secret) VALUES (1, $1)"), &[&secret]).await?;
    Ok(())
}

/// The master secret, as a processing server fetches it at start and at each refresh.
pub async fn fetch_secret(client: &Client) -> Result<Vec<u8>, OpError> {
    let row = client
        .query_one(&format!("SELECT secret FROM {SCHEMA}.master_secret WHERE id = 1"), &[])
        .await
        .map_err(|e| OpError::from_commit(&e))?;
    Ok(row.get(0))
}

/// A configuration change: `plain` encrypted with the secret and written through the secret
/// server (nothing new can be encrypted while it is down).
pub async fn encrypt(client: &Client, secret: &[u8], application: &str, plain: &[u8]) -> Result<(), OpError> {
    let blob = xor(secret, plain);
    client
        .execute(
            &format!("INSERT INTO {SCHEMA}.credentials (application, blob) VALUES ($1, $2)"),
            &[&application, &blob],
        )
        .await
        .map(|_| ())
        .map_err(|e| OpError::from_commit(&e))
}

/// How many encrypted credentials the secret server holds.
pub async fn credentials(client: &Client) -> Result<i64, tokio_postgres::Error> {
    Ok(client.query_one(&format!("SELECT count(*) FROM {SCHEMA}.credentials"), &[]).await?.get(0))
}

/// What a delivery does with the cached secret: decrypt a credential (a local operation).
pub fn decrypt(secret: &[u8], blob: &[u8]) -> Option<Vec<u8>> {
    (!secret.is_empty()).then(|| xor(secret, blob))
}

fn xor(secret: &[u8], data: &[u8]) -> Vec<u8> {
    if secret.is_empty() {
        return data.to_vec();
    }
    data.iter().zip(secret.iter().cycle()).map(|(d, s)| d ^ s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encrypted_with_the_secret_decrypts_with_it_and_nothing_decrypts_without_one() {
        let secret = [7u8, 1, 200, 33];
        let blob = xor(&secret, b"password=hunter2");
        assert_ne!(blob, b"password=hunter2");
        assert_eq!(decrypt(&secret, &blob).unwrap(), b"password=hunter2");
        assert_eq!(decrypt(&[], &blob), None);
    }
}
