//! The Fargate task definition and its two roles. The execution role is what ECS uses to start the
//! task: pull this service's image and write to its log group, nothing else. The task role is what
//! the task's own code runs as: empty but for reporting to its workflow when the workflow waits for
//! the task's token (the state machine decorator adds that), so a fork grants exactly what its code
//! calls. The size is a
//! cpu/memory pair Fargate accepts (checked when the service description is made).

use model::template::{Expr, Pseudo, Resource, Template};
use serde_json::{Value, json};

use super::context::{TaskDefinition, needed};
use super::iam::{allow, allow_on_any_resource, service_role};
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const TASK_DEFINITION: &str = "TaskDefinition";
pub const EXECUTION_ROLE: &str = "TaskExecutionRole";
pub const TASK_ROLE: &str = "TaskRole";

const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";

pub struct TaskDefinitionDecorator;

impl Decorator for TaskDefinitionDecorator {
    fn name(&self) -> &str {
        "task-definition"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        let image = needed(&ctx.image, "image URI", "image")?;
        let repository = needed(&ctx.repository, "ECR repository", "ecr")?;
        let log_group = needed(&ctx.log_group, "log group", "logs")?;
        let service = &ctx.service;

        let execution_role = logical_id(EXECUTION_ROLE)?;
        template.add_resource(
            &execution_role,
            service_role(
                ECS_TASKS,
                &format!("ECS starts {} tasks with it: pulls the image, writes the logs", service.name()),
                vec![(
                    "PullImageAndWriteLogs",
                    vec![
                        // GetAuthorizationToken acts on the registry, not a repository: IAM defines no
                        // resource type for it, so "*" is the only Resource it accepts.
                        allow_on_any_resource("RegistryTokenHasNoResourceType", &["ecr:GetAuthorizationToken"]),
                        allow(
                            &["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                            &repository.arn,
                        ),
                        allow(&["logs:CreateLogStream", "logs:PutLogEvents"], &log_group.arn),
                    ],
                )],
            ),
        )?;

        let task_role = logical_id(TASK_ROLE)?;
        template.add_resource(
            &task_role,
            service_role(
                ECS_TASKS,
                &format!("The {} task's own code runs as this role; add the permissions it needs", service.name()),
                Vec::new(),
            ),
        )?;

        let size = service.task_size();
        let environment: Vec<Value> =
            service.environment().iter().map(|(name, value)| json!({ "Name": name, "Value": value })).collect();
        let container = json!({
            "Name": service.container_name(),
            "Image": image.uri,
            "Essential": true,
            // The container-level limit repeats the task's: moto's RunTask fails without it.
            "Memory": size.memory(),
            // The image's non-root user, stated here too, so the task runs as it even from an
            // image whose config says otherwise. Privileged is left out (false; Fargate refuses
            // true), nothing is added to the capabilities, and all of them are dropped: the task
            // needs none, and a FROM-scratch image has no setuid binary that could use them.
            "User": crate::image::inputs::USER,
            "LinuxParameters": { "Capabilities": { "Drop": ["ALL"] } },
            "Environment": environment,
            "LogConfiguration": {
                "LogDriver": "awslogs",
                "Options": {
                    "awslogs-group": log_group.name,
                    "awslogs-region": Expr::pseudo(Pseudo::Region),
                    "awslogs-stream-prefix": service.name(),
                }
            }
        });
        let id = logical_id(TASK_DEFINITION)?;
        template.add_resource(
            &id,
            Resource::new("AWS::ECS::TaskDefinition")
                .property("Family", service.task_family())
                .property("Cpu", size.cpu().to_string())
                .property("Memory", size.memory().to_string())
                .property("NetworkMode", "awsvpc")
                .property("RequiresCompatibilities", json!(["FARGATE"]))
                // The task binary is built for x86_64-unknown-linux-gnu.
                .property("RuntimePlatform", json!({ "OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64" }))
                .property("ExecutionRoleArn", Expr::get_att(&execution_role, "Arn"))
                .property("TaskRoleArn", Expr::get_att(&task_role, "Arn"))
                .property("ContainerDefinitions", json!([container])),
        )?;
        ctx.task_definition = Some(TaskDefinition {
            // Ref of a task definition is its ARN, revision included.
            arn: Expr::ref_to(&id),
            container_name: service.container_name().to_owned(),
            execution_role_arn: Expr::get_att(&execution_role, "Arn"),
            execution_role,
            task_role_arn: Expr::get_att(&task_role, "Arn"),
            task_role,
        });
        Ok(())
    }
}
