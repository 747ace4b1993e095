# Recipes for building, testing and running the project. On a fresh machine run them through
# tools/just (it installs `just` first; each recipe then installs what it uses): `tools/just test`.
# No recipe assumes where cargo puts its output: the command-line binaries run through
# tools/cargo-bin (one build of all three, found where cargo reports its target directory).

set shell := ["bash", "-euo", "pipefail", "-c"]

export PATH := justfile_directory() + "/.venv/bin:" + env_var("PATH")

# List the recipes.
default:
    @just --list

# Install every pinned tool (moto, cfn-lint, pytest, checkov, cargo-nextest, just, docker-registry); idempotent.
setup:
    tools/setup

# What the local cloud runs: moto and docker-registry.
[private]
setup-local:
    tools/setup local

# What the tests add: cfn-lint, pytest, checkov, cargo-nextest (and the local cloud's tools).
[private]
setup-test:
    tools/setup test

# Compile the task binary statically and build its image: `just build --builder oci`, `--json`.
build *ARGS:
    tools/cargo-bin provisioner build {{ARGS}}

# Build and push the image to ECR (or `--registry HOST:PORT`); prints the URI pinned by digest.
push *ARGS:
    tools/cargo-bin provisioner push {{ARGS}}

# The whole flow for real: start the local cloud, deploy, run the workflow (one success, one failure), show the output.
demo: setup-local
    CARGO_BIN_VERBOSE=1 tools/cargo-bin demo

# The end-to-end tests: build, push, provision, run, update, run again, delete, on a local cloud of their own; a fork run beside the original.
test-e2e: setup-test
    cargo nextest run --locked -p integration-tests --test it -E 'test(/^(e2e|provision|stepfunctions|fork)::/)' --no-fail-fast

# Run every test: unit, template checks, containers, local cloud, end to end, and the moto corrections.
test: setup-test
    cargo fmt --check
    cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
    cargo nextest run --workspace --all-features --locked --no-fail-fast
    .venv/bin/pytest -q localcloud/moto/tests
    # The binary built without `lambdabinary` must not offer fargateTask (the service's package,
    # named after the service, is the one in service/).
    cd service && cargo nextest run --locked

# Start the local cloud on loopback (AWS endpoint :4566, registry :5055); idempotent. Then: . .localcloud/env
up *ARGS: setup-local
    tools/cargo-bin localcloud up {{ARGS}}

# Stop the local cloud: only the processes `up` recorded. Logs and registry storage stay.
down *ARGS:
    tools/cargo-bin localcloud down {{ARGS}}

# The local cloud: what runs, where, its logs and the env file (`just cloud-status --json`).
cloud-status *ARGS:
    tools/cargo-bin localcloud status {{ARGS}}

# Build, push and deploy the stack where the AWS configuration points (`--local`: start the local cloud, deploy there).
[positional-arguments]
provision *ARGS: setup-local
    #!/usr/bin/env bash
    set -euo pipefail
    args=(); for a in "$@"; do if [ "$a" = --local ]; then local=1; else args+=("$a"); fi; done
    if [ -n "${local:-}" ]; then tools/cargo-bin localcloud up >&2; . .localcloud/env; fi
    exec tools/cargo-bin provisioner provision "${args[@]}"

# Run the workflow and follow it: states, the task's logs, the outcome (`--local`: on the local cloud).
[positional-arguments]
run *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    args=(); for a in "$@"; do if [ "$a" = --local ]; then . .localcloud/env; else args+=("$a"); fi; done
    exec tools/cargo-bin provisioner run --follow "${args[@]}"

# The stack's status, outputs, recent events, image and executions (`--local`: the local cloud's).
[positional-arguments]
status *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    args=(); for a in "$@"; do if [ "$a" = --local ]; then . .localcloud/env; else args+=("$a"); fi; done
    exec tools/cargo-bin provisioner status "${args[@]}"

# Delete the stack and wait until it is gone (`--purge-images`: its images too; `--local`: the local cloud's).
[positional-arguments]
delete *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    args=(); for a in "$@"; do if [ "$a" = --local ]; then . .localcloud/env; else args+=("$a"); fi; done
    exec tools/cargo-bin provisioner delete "${args[@]}"

# Print the stack's CloudFormation template, no AWS access (e.g. just template --format yaml --image URI).
template *ARGS:
    tools/cargo-bin provisioner template {{ARGS}}

# Write template.json and service.html (the workflow and its resources) to target/describe; no AWS.
describe *ARGS:
    tools/cargo-bin provisioner describe {{ARGS}}

# A new service from this one, in DIR (relative to this checkout): just fork thumbnailer ../thumbnailer [--cpu N --memory MIB --description TEXT]
[positional-arguments]
fork NAME DIR *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    exec tools/cargo-bin provisioner fork "$@"

# Lint the generated template with the pinned cfn-lint, informational checks included.
lint-template: setup-test
    #!/usr/bin/env bash
    set -euo pipefail
    out="$(tools/target-dir)/template"; mkdir -p "$out"
    tools/cargo-bin provisioner template > "$out/stack.json"
    cfn-lint --include-checks I -- "$out/stack.json"

# The benchmarks: image pipeline, provision, run, many executions at once, our Step Functions against moto (the ignored test bench::figures, in the build `just test` made).
bench: setup-test
    cargo nextest run --workspace --all-features --locked --no-fail-fast --run-ignored only --no-capture -E 'test(=bench::figures)'
