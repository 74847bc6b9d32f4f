//! Stored lattices: listed, read and deleted (created in `client.rs`,
//! where the load generator has long used it).

use crate::client::{Client, page_query};
use crate::error::Error;
use crate::types::{Lattice, Page};

impl Client {
    /// `GET /v1/lattices?limit=&cursor=`: one page, newest first.
    pub async fn list_lattices(
        &self,
        limit: Option<u32>,
        cursor: Option<uuid::Uuid>,
    ) -> Result<Page<Lattice>, Error> {
        self.get_json("/v1/lattices", &page_query(limit, cursor), "lattices")
            .await
    }

    /// `GET /v1/lattices/{id}`.
    pub async fn get_lattice(&self, id: uuid::Uuid) -> Result<Lattice, Error> {
        self.get_json(&format!("/v1/lattices/{id}"), &[], "lattice")
            .await
    }

    /// `DELETE /v1/lattices/{id}` → 204; new jobs naming it get 404.
    pub async fn delete_lattice(&self, id: uuid::Uuid) -> Result<(), Error> {
        self.delete(&format!("/v1/lattices/{id}")).await
    }
}
