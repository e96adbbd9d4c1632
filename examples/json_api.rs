//! A tiny JSON API over an in-memory list, on [`falconet::Router`] and `serde_json`.
//!
//! - `GET /items` → 200, the list as a JSON array.
//! - `POST /items` with `{"name": "..."}` → 201, the new item (`{"id": 1, "name": "..."}`)
//!   and a `Location` header.
//! - `GET /items/{id}` → 200 with the item, or 404.
//! - malformed JSON or a missing `name` → 400 with `{"error": "..."}`.
//! - any other path (`/items/` included: trailing slashes count) → 404 with
//!   `{"error": "not found"}`; another method on `/items` or `/items/{id}` → 405 with
//!   `Allow` (the router's plain-text answer).
//!
//! Every response of the API itself is `application/json`.
//!
//! ```text
//! cargo run --example json_api -- --urls http://127.0.0.1:8080
//! curl -d '{"name":"apple"}' -H 'content-type: application/json' http://127.0.0.1:8080/items
//! curl http://127.0.0.1:8080/items
//! ```
//!
//! `--config FILE` loads a JSON configuration file (Kestrel's layout) as well.

use std::sync::{Arc, Mutex};

use falconet::http::header::LOCATION;
use falconet::http::StatusCode;
use falconet::response::json;
use falconet::{Params, Request, Response, Router, Server};
use serde_json::{json, Value};

/// The API's state: items and the next id.
#[derive(Default)]
struct Store {
    items: Vec<Value>,
    next_id: u64,
}

type Shared = Arc<Mutex<Store>>;

fn error(status: StatusCode, message: &str) -> Response {
    json(status, &json!({ "error": message }))
}

fn lock(store: &Shared) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

fn list(store: &Shared) -> Response {
    json(StatusCode::OK, &Value::Array(lock(store).items.clone()))
}

fn create(store: &Shared, req: Request) -> Response {
    let body = req.into_body();
    let parsed: Value = match serde_json::from_slice(body.as_bytes().unwrap_or(&[])) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    let Some(name) = parsed.get("name").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "expected {\"name\": string}");
    };
    let mut store = lock(store);
    store.next_id += 1;
    let item = json!({ "id": store.next_id, "name": name });
    store.items.push(item.clone());
    let mut resp = json(StatusCode::CREATED, &item);
    let location = format!("/items/{}", store.next_id);
    resp.headers_mut()
        .insert(LOCATION, location.parse().expect("a valid header value"));
    resp
}

fn show(store: &Shared, req: Request) -> Response {
    let id = Params::of(&req)
        .get("id")
        .and_then(|id| id.parse::<u64>().ok());
    let store = lock(store);
    let found = store
        .items
        .iter()
        .find(|i| id.is_some() && i.get("id").and_then(Value::as_u64) == id);
    match found {
        Some(item) => json(StatusCode::OK, item),
        None => error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The API: three routes, and JSON 404s for everything else.
fn router() -> Router {
    let store = Shared::default();
    let (a, b, c) = (store.clone(), store.clone(), store);
    Router::new()
        .get("/items", move |_req: Request| list(&a))
        .post("/items", move |req: Request| create(&b, req))
        .get("/items/{id}", move |req: Request| show(&c, req))
        .fallback(|_req: Request| error(StatusCode::NOT_FOUND, "not found"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = falconet::config::options_from_args(std::env::args().skip(1))?;
    Server::new(options, router()).run()?;
    Ok(())
}
