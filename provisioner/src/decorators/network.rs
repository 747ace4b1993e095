//! The network the task runs in: a VPC with DNS support and hostnames (ECS RunTask needs both), an
//! internet gateway, two public subnets in two different availability zones, a route table sending
//! 0.0.0.0/0 to the gateway, and an egress-only security group the task is placed in. Public
//! subnets and a public IP, rather than NAT gateways, keep an idle stack free of hourly charges.

use model::template::{Expr, Resource, Template};
use serde_json::json;

use super::context::Network;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const VPC: &str = "Vpc";
pub const INTERNET_GATEWAY: &str = "InternetGateway";
pub const GATEWAY_ATTACHMENT: &str = "InternetGatewayAttachment";
pub const ROUTE_TABLE: &str = "PublicRouteTable";
pub const DEFAULT_ROUTE: &str = "PublicDefaultRoute";
pub const SECURITY_GROUP: &str = "TaskSecurityGroup";
/// The subnets are `PublicSubnet1`, `PublicSubnet2`, ... in availability zones 0, 1, ...
pub const SUBNET_PREFIX: &str = "PublicSubnet";

pub struct NetworkDecorator {
    pub vpc_cidr: String,
    /// One subnet per entry, each in its own availability zone (index in `Fn::GetAZs`).
    pub subnet_cidrs: Vec<String>,
}

impl Default for NetworkDecorator {
    fn default() -> Self {
        Self { vpc_cidr: "10.0.0.0/16".into(), subnet_cidrs: vec!["10.0.0.0/20".into(), "10.0.16.0/20".into()] }
    }
}

fn name_tag(value: String) -> serde_json::Value {
    json!([{ "Key": "Name", "Value": value }])
}

impl Decorator for NetworkDecorator {
    fn name(&self) -> &str {
        "network"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        if self.subnet_cidrs.len() < 2 {
            return Err(DecoratorError::Invalid(format!(
                "{} subnet(s) given; Fargate needs subnets in at least two availability zones to survive one failing",
                self.subnet_cidrs.len()
            )));
        }
        let service = ctx.service.name().to_owned();
        let vpc = logical_id(VPC)?;
        let gateway = logical_id(INTERNET_GATEWAY)?;
        let attachment = logical_id(GATEWAY_ATTACHMENT)?;
        let route_table = logical_id(ROUTE_TABLE)?;
        let route = logical_id(DEFAULT_ROUTE)?;
        let security_group = logical_id(SECURITY_GROUP)?;

        template.add_resource(
            &vpc,
            Resource::new("AWS::EC2::VPC")
                .property("CidrBlock", self.vpc_cidr.as_str())
                // Without DNS hostnames a task cannot resolve ECR's endpoints, and moto's RunTask refuses it.
                .property("EnableDnsHostnames", true)
                .property("EnableDnsSupport", true)
                .property("Tags", name_tag(format!("{service}-vpc"))),
        )?;
        template.add_resource(
            &gateway,
            Resource::new("AWS::EC2::InternetGateway").property("Tags", name_tag(format!("{service}-igw"))),
        )?;
        template.add_resource(
            &attachment,
            Resource::new("AWS::EC2::VPCGatewayAttachment")
                .property("VpcId", Expr::ref_to(&vpc))
                .property("InternetGatewayId", Expr::ref_to(&gateway)),
        )?;
        template.add_resource(
            &route_table,
            Resource::new("AWS::EC2::RouteTable")
                .property("VpcId", Expr::ref_to(&vpc))
                .property("Tags", name_tag(format!("{service}-public"))),
        )?;
        template.add_resource(
            &route,
            Resource::new("AWS::EC2::Route")
                .property("RouteTableId", Expr::ref_to(&route_table))
                .property("DestinationCidrBlock", "0.0.0.0/0")
                .property("GatewayId", Expr::ref_to(&gateway))
                // A route to a gateway not yet attached to the VPC is refused.
                .depends_on(&attachment),
        )?;

        let mut subnets = Vec::new();
        for (index, cidr) in self.subnet_cidrs.iter().enumerate() {
            let number = index + 1;
            let subnet = logical_id(&format!("{SUBNET_PREFIX}{number}"))?;
            let zone = u32::try_from(index)
                .map_err(|_| DecoratorError::Invalid(format!("{} subnets is too many", self.subnet_cidrs.len())))?;
            template.add_resource(
                &subnet,
                Resource::new("AWS::EC2::Subnet")
                    .property("VpcId", Expr::ref_to(&vpc))
                    .property("CidrBlock", cidr.as_str())
                    // A different zone for each subnet: Sparta put both in one.
                    .property("AvailabilityZone", Expr::select(zone, Expr::get_azs()))
                    .property("MapPublicIpOnLaunch", true)
                    .property("Tags", name_tag(format!("{service}-public-{number}"))),
            )?;
            template.add_resource(
                &logical_id(&format!("{SUBNET_PREFIX}{number}RouteTableAssociation"))?,
                Resource::new("AWS::EC2::SubnetRouteTableAssociation")
                    .property("SubnetId", Expr::ref_to(&subnet))
                    .property("RouteTableId", Expr::ref_to(&route_table)),
            )?;
            subnets.push(subnet);
        }

        template.add_resource(
            &security_group,
            Resource::new("AWS::EC2::SecurityGroup")
                .property("GroupDescription", format!("{service} Fargate task: outbound only"))
                .property("VpcId", Expr::ref_to(&vpc))
                // No ingress: the task is started by the state machine, never called. Egress stays
                // open so the task can reach ECR, CloudWatch Logs and whatever a fork's code calls.
                .property(
                    "SecurityGroupEgress",
                    json!([{ "IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "All outbound traffic" }]),
                )
                .property("Tags", name_tag(format!("{service}-task"))),
        )?;

        ctx.network = Some(Network {
            vpc_id: Expr::ref_to(&vpc),
            subnet_ids: subnets.iter().map(Expr::ref_to).collect(),
            subnets,
            security_group_id: Expr::get_att(&security_group, "GroupId"),
        });
        Ok(())
    }
}
