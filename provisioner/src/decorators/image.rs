//! The image the task runs: an `ImageUri` template parameter (so a new image is a parameter change
//! on update, not a new template), defaulting to the pushed image or, with none given, to a
//! placeholder that is clearly not pullable.

use model::template::{Expr, Parameter, Template};

use super::context::Image;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const IMAGE_URI_PARAMETER: &str = "ImageUri";

/// The `.invalid` top-level domain never resolves (RFC 2606), so a stack deployed with the
/// placeholder fails at the image pull, naming this URI, instead of running something else.
pub const PLACEHOLDER_REGISTRY: &str = "placeholder.invalid";

/// The placeholder image URI for `service_name`.
pub fn placeholder_image_uri(service_name: &str) -> String {
    format!("{PLACEHOLDER_REGISTRY}/{service_name}:replace-with-provisioner-push-output")
}

pub struct ImageDecorator {
    /// The pushed image (e.g. `provisioner push` output), or `None` for the placeholder.
    pub image_uri: Option<String>,
}

impl Decorator for ImageDecorator {
    fn name(&self) -> &str {
        "image"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        let (uri, placeholder) = match &self.image_uri {
            Some(uri) => {
                if uri.is_empty() || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(DecoratorError::Invalid(format!(
                        "the image URI {uri:?} is empty or contains whitespace; pass what `provisioner push` printed, \
                         e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/{}@sha256:...",
                        ctx.service.name()
                    )));
                }
                (uri.clone(), false)
            }
            None => (placeholder_image_uri(ctx.service.name()), true),
        };
        let description = if placeholder {
            "The task's container image. The default is a PLACEHOLDER that cannot be pulled: pass the URI that \
             `provisioner push` printed"
        } else {
            "The task's container image, as `provisioner push` printed it"
        };
        let id = logical_id(IMAGE_URI_PARAMETER)?;
        template.add_parameter(&id, Parameter::string().description(description).default_value(uri).length(1, 1024))?;
        ctx.image = Some(Image { uri: Expr::ref_to(&id), placeholder });
        Ok(())
    }
}
