//! `bootstrap`: the rotation Lambda (runtime `provided.al2023`). Wiring only: the
//! settings, the two clients, and the handler from this crate's library.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rotation::Rotation;
use rotation_lambda::{RotationEvent, Settings, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env(|name| std::env::var(name).ok())?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let engine = Rotation::new(
        aws_sdk_secretsmanager::Client::new(&config),
        aws_sdk_elasticache::Client::new(&config),
    );
    let (engine, settings) = (&engine, &settings);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RotationEvent>| async move {
            let log = |line: String| eprintln!("{line}");
            if let Err(error) = handle(engine, settings, &event.payload, &log).await {
                log(format!("{} failed: {error}", event.payload.step));
                return Err(error.into());
            }
            Ok::<(), Error>(())
        },
    ))
    .await
}
