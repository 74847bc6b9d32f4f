//! Usage and invoices: read-only, any role.

use crate::client::{Client, page_query};
use crate::error::Error;
use crate::types::{Invoice, Page, Usage};

impl Client {
    /// `GET /v1/usage?from=&to=&granularity=`: `from` and `to` are RFC 3339
    /// instants; `granularity` is `hour`, `day` (the API's default) or `month`.
    pub async fn usage(
        &self,
        from: &str,
        to: &str,
        granularity: Option<&str>,
    ) -> Result<Usage, Error> {
        let mut query = vec![("from", from.to_owned()), ("to", to.to_owned())];
        if let Some(granularity) = granularity {
            query.push(("granularity", granularity.to_owned()));
        }
        self.get_json("/v1/usage", &query, "usage").await
    }

    /// `GET /v1/invoices?limit=&cursor=`: one page, newest first, without lines.
    pub async fn list_invoices(
        &self,
        limit: Option<u32>,
        cursor: Option<uuid::Uuid>,
    ) -> Result<Page<Invoice>, Error> {
        self.get_json("/v1/invoices", &page_query(limit, cursor), "invoices")
            .await
    }

    /// `GET /v1/invoices/{id}`: one invoice with its lines.
    pub async fn get_invoice(&self, id: uuid::Uuid) -> Result<Invoice, Error> {
        self.get_json(&format!("/v1/invoices/{id}"), &[], "invoice")
            .await
    }
}
