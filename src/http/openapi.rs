//! `/api/v1/openapi.json`: the hand-written OpenAPI 3 description of the API (`openapi.json` beside
//! this file). A test checks it lists every route the router serves.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

pub async fn document() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}
