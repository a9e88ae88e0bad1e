//! The HTTP stack's ceiling for `scripts/bench-server.sh`: axum on the same runtime settings as
//! `kiln registry serve`, answering a constant JSON body to every GET, with no store and no auth.
//!
//! `cargo run --release --example bare_axum -- 127.0.0.1:0` prints `listening on http://ADDR`.

use axum::routing::get;
use axum::Router;

fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = Router::new().fallback(get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"id":"ami-0123456789abcdef0"}"#,
            )
        }));
        axum::serve(listener, app).await
    })
}
