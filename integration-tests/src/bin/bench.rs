//! `just bench`: the image pipeline's speed and size, measured against the local cloud's registry.
//! The same static binary goes through both paths, side by side in one run: the daemonless OCI
//! build + push, and `docker build` (no cache) + `docker push`. Each run pushes to a fresh
//! repository so every blob is really uploaded. Prints a table, then one `BENCH name=value` line
//! per figure. Targets (measured here, never asserted in tests): OCI at least 5x faster than
//! Docker, and the image within 5% of the compressed binary.

use std::time::Instant;

use integration_tests::LocalCloud;
use oci_client::secrets::RegistryAuth;
use provisioner::image::binary::{TaskBinary, workspace_root};
use provisioner::image::inputs::{DEFAULT_CA_CERTIFICATES, DIRECTORIES, ImageInputs};
use provisioner::image::progress::{Progress, human_bytes};
use provisioner::image::push::Registry;
use provisioner::image::reference::ImageRef;
use provisioner::image::{docker, oci};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let cloud = LocalCloud::start().await;
    let registry = cloud.registry().to_owned();
    let quiet = Progress::quiet();

    eprintln!("bench: compiling the task binary (not timed)");
    let binary = TaskBinary::service(&workspace_root()).build(&quiet).await?;
    let binary_data = std::fs::read(&binary)?;
    let binary_gzip = oci::gzip(&binary_data)?.len() as u64;
    let inputs = ImageInputs::new(&workspace_root(), binary, DEFAULT_CA_CERTIFICATES.into());
    inputs.check()?;
    // The CA bundle is most of what the image adds to the binary; shown so the size ratio can be read.
    let ca_gzip = oci::gzip(&std::fs::read(&inputs.ca_certificates)?)?.len() as u64;
    let engine = docker::connect().await?;
    let run_id = std::process::id();

    let (mut oci_seconds, mut docker_seconds) = (Vec::new(), Vec::new());
    let mut image_bytes = 0;
    for run in 0..runs {
        eprintln!("bench: run {}/{runs}", run + 1);
        let started = Instant::now();
        let image = oci::build(&inputs.files(), &DIRECTORIES, None)?;
        let target =
            ImageRef::new(&registry, &format!("bench-oci-{run_id}-{run}"))?.with_tag("bench");
        let report = Registry::new(&registry, RegistryAuth::Anonymous)
            .push(&image, &target, &quiet)
            .await?;
        oci_seconds.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(
            report.skipped_blobs == 0,
            "the OCI run found blobs already present: {report:?}"
        );
        image_bytes = image.compressed_size();

        let started = Instant::now();
        let local = format!("bench-docker-{run_id}:{run}");
        docker::build(&engine, &inputs, &local, true, &quiet).await?;
        let target =
            ImageRef::new(&registry, &format!("bench-docker-{run_id}-{run}"))?.with_tag("bench");
        docker::push(&engine, &local, &target, None, &quiet).await?;
        docker_seconds.push(started.elapsed().as_secs_f64());
        for tag in [local, target.to_string()] {
            let _ = engine
                .remove_image(
                    &tag,
                    None::<bollard::query_parameters::RemoveImageOptions>,
                    None,
                )
                .await;
        }
    }

    let oci = median(oci_seconds);
    let docker = median(docker_seconds);
    let ratio = docker / oci;
    let size_ratio = image_bytes as f64 / binary_gzip as f64;
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!("| OCI build + push (median of {runs}) | {oci:.3} s | |");
    println!("| docker build + docker push (median of {runs}) | {docker:.3} s | |");
    println!("| docker / OCI | {ratio:.1}x | >= 5x |");
    println!("| image, compressed | {} | |", human_bytes(image_bytes));
    println!("| binary | {} | |", human_bytes(binary_data.len() as u64));
    println!("| binary, gzip | {} | |", human_bytes(binary_gzip));
    println!(
        "| CA bundle, gzip (part of the image) | {} | |",
        human_bytes(ca_gzip)
    );
    println!("| image / compressed binary | {size_ratio:.3} | <= 1.05 |");
    println!(
        "| image without the CA bundle / compressed binary | {:.3} | |",
        (image_bytes - ca_gzip) as f64 / binary_gzip as f64
    );
    println!("BENCH oci_build_push_seconds={oci:.3}");
    println!("BENCH docker_build_push_seconds={docker:.3}");
    println!("BENCH oci_vs_docker_build_push={ratio:.2}");
    println!("BENCH image_compressed_bytes={image_bytes}");
    println!("BENCH binary_bytes={}", binary_data.len());
    println!("BENCH binary_gzip_bytes={binary_gzip}");
    println!("BENCH ca_bundle_gzip_bytes={ca_gzip}");
    println!("BENCH image_vs_compressed_binary={size_ratio:.4}");
    Ok(())
}
