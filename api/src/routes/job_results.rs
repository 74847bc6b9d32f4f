//! Downloads of stored result parts (issue 22): a succeeded job's full
//! answer where it exceeds the inline caps (`shared/src/result_parts.rs`
//! has the format: a `.npy` file, stored as zstd frames of 4 MiB of it).
//! The file is streamed chunk by chunk, one database read and one
//! decompression at a time, with its length, its SHA-256 as the ETag, and
//! single byte ranges.

use crate::auth::TenantScope;
use crate::error::{ApiError, Problem, path_id};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalytic_shared::db;
use catalytic_shared::ids::JobId;
use catalytic_shared::job::JobState;
use catalytic_shared::result_parts::{CHUNK, unpack};
use futures::StreamExt;
use sqlx::PgPool;
use std::ops::RangeInclusive;

/// Downloads a stored part of a succeeded job's result (named in its
/// `result.parts`), e.g. `field`: the whole distance field as a `.npy`
/// file that `numpy.load` opens (32-bit integers, -1 unreachable, shaped
/// like the lattice, axis 0 first). Single byte ranges (`Range: bytes=a-b`)
/// are answered 206; `If-None-Match` with the ETag 304.
#[utoipa::path(
    get, path = "/v1/jobs/{id}/result/{part}", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "the job id"),
           ("part" = String, Path, description = "the part's name, from the result's `parts`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the part, streamed", content_type = "application/x-npy",
         headers(("Content-Length" = u64, description = "bytes of the file"),
                 ("ETag" = String, description = "the file's SHA-256, quoted"),
                 ("Accept-Ranges" = String, description = "`bytes`"))),
        (status = 206, description = "the byte range asked for", content_type = "application/x-npy",
         headers(("Content-Range" = String, description = "`bytes a-b/length`"))),
        (status = 304, description = "not modified (`If-None-Match` names its ETag)"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job for this tenant, or no such part of its result", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job has not finished yet", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "the range is outside the file", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn download_part(
    State(state): State<AppState>,
    scope: TenantScope,
    Path((id, part)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let job: JobId = path_id(&id, "job")?;
    if part.is_empty()
        || part.len() > 32
        || !part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(ApiError::NotFound("part"));
    }
    let (status, header) = db::result_parts::header(&state.db, scope.tenant_id, job, &part)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    if !status.is_terminal() {
        return Err(ApiError::Conflict(format!(
            "the job is {status}: its result is not ready"
        )));
    }
    let header = header
        .filter(|h| h.current && status == JobState::Succeeded)
        .ok_or(ApiError::NotFound("part"))?;
    let etag = format!("\"{}\"", hex::encode(&header.sha256));
    let mut response = if matches(&headers, header::IF_NONE_MATCH, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let asked = requested_range(&headers, header.length)?;
        let range = asked.clone().unwrap_or(0..=header.length.saturating_sub(1));
        let (start, end) = (*range.start(), *range.end());
        let mut response = Response::new(stream(
            state.db.clone(),
            job,
            part.clone(),
            header.length,
            range,
        ));
        set(
            &mut response,
            header::CONTENT_LENGTH,
            &(end - start + 1).to_string(),
        );
        if asked.is_some() {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            set(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{}", header.length),
            );
        }
        response
    };
    set(&mut response, header::ETAG, &etag);
    set(&mut response, header::ACCEPT_RANGES, "bytes");
    set(&mut response, header::CONTENT_TYPE, &header.media_type);
    set(&mut response, header::CACHE_CONTROL, "private, no-cache");
    set(
        &mut response,
        header::CONTENT_DISPOSITION,
        &format!("attachment; filename=\"{job}-{part}.npy\""),
    );
    tracing::info!(job_id = %job, part, bytes = header.length, status = response.status().as_u16(), "result part served");
    Ok(response)
}

fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Whether the `name` header lists `etag` (or is `*`).
fn matches(headers: &HeaderMap, name: header::HeaderName, etag: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// The one byte range `Range` asks for, within `length` (None: the whole
/// file; several ranges are answered whole too, as RFC 9110 allows). A
/// range wholly outside the file is 416; a malformed header is ignored.
fn requested_range(
    headers: &HeaderMap,
    length: u64,
) -> Result<Option<RangeInclusive<u64>>, ApiError> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        // bytes=a-b and bytes=a-
        (Ok(a), Ok(b)) if a <= b => a..=b.min(length.saturating_sub(1)),
        (Ok(a), Err(_)) if last.is_empty() => a..=length.saturating_sub(1),
        // bytes=-n: the last n bytes
        (Err(_), Ok(n)) if first.is_empty() && n > 0 => {
            length.saturating_sub(n)..=length.saturating_sub(1)
        }
        _ => return Ok(None),
    };
    if length == 0 || *range.start() >= length {
        return Err(ApiError::RangeNotSatisfiable { length });
    }
    Ok(Some(range))
}

/// The bytes `range` of the part, read and decompressed a chunk at a time.
fn stream(pool: PgPool, job: JobId, part: String, length: u64, range: RangeInclusive<u64>) -> Body {
    let chunk = CHUNK as u64;
    let (start, end) = (*range.start(), *range.end());
    let seqs = (start / chunk)..=(end / chunk);
    let chunks = futures::stream::iter(seqs).then(move |seq| {
        let (pool, part) = (pool.clone(), part.clone());
        async move {
            let frame = db::result_parts::chunk(&pool, job, &part, seq)
                .await
                .map_err(std::io::Error::other)?
                .ok_or_else(|| {
                    std::io::Error::other(format!("chunk {seq} of {part} is missing"))
                })?;
            let bytes = unpack(&frame, seq, length)?;
            // The part of this chunk inside the range.
            let from = start.saturating_sub(seq * chunk) as usize;
            let to = ((end + 1).min((seq + 1) * chunk) - seq * chunk) as usize;
            Ok::<Bytes, std::io::Error>(Bytes::copy_from_slice(
                &bytes[from.min(to)..to.min(bytes.len())],
            ))
        }
    });
    Body::from_stream(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, length: u64) -> Result<Option<RangeInclusive<u64>>, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::RANGE,
            HeaderValue::from_str(value).map_err(|e| ApiError::Internal(e.into()))?,
        );
        requested_range(&headers, length)
    }

    #[test]
    fn ranges_are_read_as_rfc_9110_says() -> Result<(), ApiError> {
        assert_eq!(range("bytes=0-99", 1000)?, Some(0..=99));
        assert_eq!(range("bytes=900-", 1000)?, Some(900..=999));
        assert_eq!(range("bytes=-100", 1000)?, Some(900..=999));
        assert_eq!(
            range("bytes=990-2000", 1000)?,
            Some(990..=999),
            "clipped to the end"
        );
        assert_eq!(range("bytes=-5000", 1000)?, Some(0..=999));
        assert_eq!(
            range("bytes=0-1,5-6", 1000)?,
            None,
            "several: the whole file"
        );
        assert_eq!(range("items=0-1", 1000)?, None, "another unit: ignored");
        assert_eq!(range("bytes=9-1", 1000)?, None, "malformed: ignored");
        assert!(matches!(
            range("bytes=1000-", 1000),
            Err(ApiError::RangeNotSatisfiable { length: 1000 })
        ));
        Ok(())
    }

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_a_star() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(matches(&headers, header::IF_NONE_MATCH, "\"b\""));
        assert!(!matches(&headers, header::IF_NONE_MATCH, "\"c\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&headers, header::IF_NONE_MATCH, "\"c\""));
    }
}
