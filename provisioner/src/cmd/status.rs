//! `provisioner status`: the stack's status, outputs and recent events, the image its task
//! definition runs, and the state machine's recent executions. Changes nothing; the reading is
//! `crate::deployment`'s, this module parses the arguments and prints.

use clap::Args;

use crate::caller::Caller;
use crate::deployment::{self, StatusReport};
use crate::stack::args::StackArgs;
use crate::stack::describe;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// How many recent stack events and executions to show.
    #[arg(long, default_value_t = 10)]
    pub recent: usize,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let stack_name = args.stack.name_or(service::SERVICE_NAME);
    let caller = Caller::load().await?;
    let report = deployment::report(&caller, &stack_name, args.recent).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}

fn print(report: &StatusReport) {
    let where_ = match &report.endpoint {
        Some(endpoint) => format!("account {}, region {}, endpoint {endpoint}", report.account, report.region),
        None => format!("account {}, region {} (AWS)", report.account, report.region),
    };
    let Some(stack) = &report.stack else {
        println!("stack {}: not deployed in {where_} (deploy it with `just provision`)", report.stack_name);
        return;
    };
    println!("stack {}: {} in {where_}", stack.name, stack.status);
    if !stack.status_reason.is_empty() {
        println!("  reason: {}", stack.status_reason);
    }
    if let Some(td) = &report.task_definition {
        println!(
            "task definition {}: image {}, cpu {}, memory {}",
            td.arn,
            td.image.as_deref().unwrap_or("?"),
            td.cpu.as_deref().unwrap_or("?"),
            td.memory.as_deref().unwrap_or("?")
        );
    }
    print!("{}", describe::outputs_text(&stack.outputs));
    if !report.recent_events.is_empty() {
        println!("Recent events:");
        for event in &report.recent_events {
            println!("  {event}");
        }
    }
    if report.executions.is_empty() {
        println!("Executions: none yet (start one with `just run`)");
    } else {
        println!("Recent executions:");
        for e in &report.executions {
            println!("  {:<10} {} started {}", e.status, e.name, e.start_date);
        }
    }
}
