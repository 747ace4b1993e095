//! The integration tests, one test binary (`it`) with a module per suite: each suite links the
//! same dozen AWS SDK crates, and one binary links them once instead of once per suite. A test's
//! name is its suite's module and its function (`e2e::build_push_provision_run_update_run_delete`);
//! select a suite with a nextest filter, e.g.
//! `cargo nextest run -p integration-tests --test it -E 'test(/^load::/)'`.
//!
//! Run them with cargo nextest, which runs every test in a process of its own. The suites rely on
//! that: the fault tests kill and restart the local cloud, the load and Step Functions tests set the
//! gateway's environment (`LOCALCLOUD_MAX_TASKS`, `LOCALCLOUD_SFN_TIME_SCALE`, `SFN_MOCK_CONFIG`)
//! before starting it, and `localcloud_fixture` drops the last handle on it; while [`integration_tests::LocalCloud`]
//! shares one local cloud between the tests of a process. Plain `cargo test` runs them all on
//! threads of one process, where those tests would pull the cloud from under the others.

mod bench;
mod container;
mod e2e;
mod fargate;
mod faults;
mod fork;
mod gateway;
mod hostile;
mod load;
mod localcloud;
mod localcloud_fixture;
mod provision;
mod push;
mod security;
mod stepfunctions;
mod support;
mod teststate;
