//! Lists come a page at a time: `?limit=&cursor=`, the next page's cursor in `X-Next-Cursor`.

use super::error::ApiError;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// Items in a page when the client names no `limit`.
pub const PAGE_SIZE: usize = 100;
/// The largest `limit` a client may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;
/// The response header that holds the next page's cursor; absent on the last page.
pub const NEXT_CURSOR: &str = "x-next-cursor";

/// `?limit=&cursor=` of a list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    pub limit: Option<usize>,
    /// Opaque: what the previous page's `X-Next-Cursor` said.
    pub cursor: Option<String>,
}

/// One page of a list: a JSON array, and the cursor of the next.
pub struct Paged<T> {
    items: Vec<T>,
    next: Option<String>,
}

impl Paging {
    /// The page of `all` this asks for. Lists are in a stable order that only grows at the end
    /// (oldest first) or by name, so an offset stays meaningful between requests.
    pub fn page<T>(self, all: Vec<T>) -> Result<Paged<T>, ApiError> {
        let limit = self.limit.unwrap_or(PAGE_SIZE);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("`limit` must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let start = match self.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => c.parse::<usize>().map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("`{c}` is not a cursor this server gave"),
                )
            })?,
        };
        let total = all.len();
        let items = all.into_iter().skip(start).take(limit).collect();
        let end = start.saturating_add(limit);
        Ok(Paged {
            items,
            next: (end < total).then(|| end.to_string()),
        })
    }
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.items).into_response();
        if let Some(next) = self.next.and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert(NEXT_CURSOR, next);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: Option<usize>, cursor: Option<&str>) -> Result<(Vec<u32>, Option<String>), u16> {
        Paging {
            limit,
            cursor: cursor.map(str::to_string),
        }
        .page((0..250).collect())
        .map(|p| (p.items, p.next))
        .map_err(|e| e.status.as_u16())
    }

    #[test]
    fn pages_walk_the_whole_list_once() {
        let (first, next) = page(None, None).expect("a page");
        assert_eq!(first.len(), PAGE_SIZE);
        let (second, next) = page(None, next.as_deref()).expect("a page");
        assert_eq!(second[0], 100);
        let (third, next) = page(None, next.as_deref()).expect("a page");
        assert_eq!(third.len(), 50);
        assert_eq!(next, None);
        assert_eq!(page(Some(0), None), Err(400));
        assert_eq!(page(Some(MAX_PAGE_SIZE + 1), None), Err(400));
        assert_eq!(page(None, Some("x")), Err(400));
        assert_eq!(
            page(None, Some("999")).expect("past the end").0,
            Vec::<u32>::new()
        );
    }
}
