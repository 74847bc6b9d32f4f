//! Cursor pagination for every list route: newest first, ids are UUIDv7
//! (time-ordered), so the last id of a page is the cursor of the next (the
//! stored concurrency limits, which have no id, page in key order and the
//! last key is the cursor). A page fetches `limit + 1` rows to know
//! whether another page follows.

use crate::error::ApiError;
use serde::Deserialize;
use std::str::FromStr;
use utoipa::IntoParams;

/// Items one page lists at most (and by default).
pub const MAX_PAGE: i64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1–100, default 100.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request: how many, and after which id.
pub struct Page<Id> {
    pub limit: i64,
    pub after: Option<Id>,
}

impl PageQuery {
    /// 422 naming `limit` or `cursor` when either is bad.
    pub fn parse<Id: FromStr>(&self) -> Result<Page<Id>, ApiError> {
        let limit = self.limit.unwrap_or(MAX_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<Id>()
                    .map_err(|_| ApiError::field("cursor", "not a cursor from a previous page"))
            })
            .transpose()?;
        Ok(Page { limit, after })
    }
}

impl<Id> Page<Id> {
    /// Rows to fetch: one more than the page, to see whether more follow.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts `rows` (fetched with `fetch()`) to the page and returns the
    /// next cursor (the last row's id), if another page follows.
    pub fn finish<T, C>(&self, rows: &mut Vec<T>, id: impl Fn(&T) -> C) -> Option<C> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() <= limit {
            return None;
        }
        rows.truncate(limit);
        rows.last().map(id)
    }
}
