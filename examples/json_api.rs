//! A tiny JSON API over an in-memory list, with `serde_json`.
//!
//! - `GET /items` → 200, the list as a JSON array.
//! - `POST /items` with `{"name": "..."}` → 201, the new item (`{"id": 1, "name": "..."}`)
//!   and a `Location` header.
//! - `GET /items/{id}` → 200 with the item, or 404.
//! - malformed JSON or a missing `name` → 400 with `{"error": "..."}`.
//! - any other path → 404 with `{"error": "not found"}`; another method on `/items` → 405.
//!
//! Every response is `application/json`.
//!
//! ```text
//! cargo run --example json_api -- --urls http://127.0.0.1:8080
//! curl -d '{"name":"apple"}' -H 'content-type: application/json' http://127.0.0.1:8080/items
//! curl http://127.0.0.1:8080/items
//! ```
//!
//! `--config FILE` loads a JSON configuration file (Kestrel's layout) as well.

use std::sync::Mutex;

use falconet::http::header::{ALLOW, CONTENT_TYPE, LOCATION};
use falconet::http::{Method, StatusCode};
use falconet::{Body, Request, Response, Server};
use serde_json::{json, Value};

/// The API's state: items and the next id.
#[derive(Default)]
struct Store {
    items: Vec<Value>,
    next_id: u64,
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut resp = Response::new(Body::from(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, "application/json".parse().unwrap());
    resp
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn handle(store: &Mutex<Store>, req: Request) -> Response {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    if path == "/items" {
        return match *req.method() {
            Method::GET => json_response(StatusCode::OK, &Value::Array(store.items.clone())),
            Method::POST => {
                let body = req.into_body();
                let parsed: Value = match serde_json::from_slice(body.as_bytes().unwrap_or(&[])) {
                    Ok(v) => v,
                    Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
                };
                let Some(name) = parsed.get("name").and_then(Value::as_str) else {
                    return error(StatusCode::BAD_REQUEST, "expected {\"name\": string}");
                };
                store.next_id += 1;
                let item = json!({ "id": store.next_id, "name": name });
                store.items.push(item.clone());
                let mut resp = json_response(StatusCode::CREATED, &item);
                resp.headers_mut().insert(
                    LOCATION,
                    format!("/items/{}", store.next_id).parse().unwrap(),
                );
                resp
            }
            _ => {
                let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
                resp.headers_mut()
                    .insert(ALLOW, "GET, POST".parse().unwrap());
                resp
            }
        };
    }
    if let Some(id) = path.strip_prefix("/items/") {
        if *req.method() == Method::GET {
            let found = id.parse::<u64>().ok().and_then(|id| {
                store
                    .items
                    .iter()
                    .find(|i| i.get("id").and_then(Value::as_u64) == Some(id))
            });
            if let Some(item) = found {
                return json_response(StatusCode::OK, item);
            }
        }
    }
    error(StatusCode::NOT_FOUND, "not found")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = falconet::config::options_from_args(std::env::args().skip(1))?;
    let store = Mutex::new(Store::default());
    Server::new(options, move |req: Request| handle(&store, req)).run()?;
    Ok(())
}
