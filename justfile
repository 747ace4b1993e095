# Recipes for building, testing and running the project. On a fresh machine run them through
# tools/just (it installs `just` and the pinned tools first): `tools/just test`.

set shell := ["bash", "-euo", "pipefail", "-c"]

target := "x86_64-unknown-linux-gnu"
task_binary := "target/" + target + "/release/servicefull"
export PATH := justfile_directory() + "/.venv/bin:" + env_var("PATH")

# List the recipes.
default:
    @just --list

# Install the pinned tools (moto, cfn-lint, just, docker-registry); idempotent.
setup:
    tools/setup

# Build the task binary statically (runs FROM scratch), with the fargateTask entry point.
build-task:
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
      cargo build --release --locked --target {{target}} -p service --features lambdabinary
    @ls -l {{task_binary}}

# Run every test: unit, template checks, container and local-cloud tests.
test: setup
    cargo nextest run --workspace --all-features --locked --no-fail-fast
    # The binary built without `lambdabinary` must not offer fargateTask.
    cargo nextest run -p service --locked

# Start the local cloud on loopback (AWS endpoint :4566, registry :5055); idempotent. Then: . .localcloud/env
up *ARGS:
    cargo run -q -p localcloud -- up {{ARGS}}

# Stop the local cloud: only the processes `up` recorded. Logs and registry storage stay.
down *ARGS:
    cargo run -q -p localcloud -- down {{ARGS}}

# What runs, where, its logs and the env file (`just status --json` for scripts).
status *ARGS:
    cargo run -q -p localcloud -- status {{ARGS}}

# Print the stack's CloudFormation template, no AWS access (e.g. just template --format yaml --image URI).
template *ARGS:
    cargo run -q --locked -p provisioner -- template {{ARGS}}

# Lint the generated template with the pinned cfn-lint, informational checks included.
lint-template: setup
    mkdir -p target/template
    cargo run -q --locked -p provisioner -- template > target/template/stack.json
    cfn-lint --include-checks I -- target/template/stack.json

# Measure the image pipeline: OCI vs docker build+push of the same binary, image vs binary size.
bench: setup
    cargo run -q --locked -p integration-tests --bin bench
