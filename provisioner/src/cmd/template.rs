//! `provisioner template`: assembles the stack's CloudFormation template from the service
//! description through the decorator chain and prints it, as JSON or YAML, with no AWS access.
//! Everything is checked and rendered before the first byte goes to stdout, so a failure leaves
//! stdout empty (a redirect into a file never holds half a template).

use std::io::Write;

use anyhow::Context;

use crate::template::{TemplateArgs, render};

/// Runs `provisioner template`.
pub fn run(args: TemplateArgs) -> anyhow::Result<()> {
    let rendered = render(&args)?;
    if let Some(uri) = &rendered.placeholder_image {
        eprintln!(
            "note: no --image given: the ImageUri parameter defaults to the placeholder {uri}, which cannot be pulled. \
             Pass --image with the URI `provisioner push` printed, or set ImageUri when deploying."
        );
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(rendered.text.as_bytes())
        .and_then(|()| if rendered.text.ends_with('\n') { Ok(()) } else { stdout.write_all(b"\n") })
        .and_then(|()| stdout.flush())
        .context("could not write the template to stdout")?;
    Ok(())
}
