# hornet on EC2: one master instance and an auto-scaling group of workers.
# The workers reach the master's ZeroMQ port on its private address; only
# the workers' security group may, and only web_cidr may reach the web UI.

data "aws_vpc" "default" {
  count   = var.vpc_id == null ? 1 : 0
  default = true
}

locals {
  vpc_id = var.vpc_id != null ? var.vpc_id : data.aws_vpc.default[0].id
}

data "aws_subnets" "default" {
  count = length(var.subnet_ids) == 0 ? 1 : 0
  filter {
    name   = "vpc-id"
    values = [local.vpc_id]
  }
  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

# Debian 12 (bookworm), amd64, from Debian's own AWS account.
data "aws_ami" "debian12" {
  most_recent = true
  owners      = ["136693071363"]
  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  subnet_ids = length(var.subnet_ids) > 0 ? var.subnet_ids : data.aws_subnets.default[0].ids

  master_public_key = regex("public-key = \"([^\"]+)\"", file("${var.keys_dir}/master.key"))[0]

  # User data: shell assignments (single-quoted) followed by the script in
  # user-data/. Secrets travel base64-encoded; they are in the Terraform
  # state and readable through the instance metadata service (IMDSv2 only,
  # one hop), so keep the state private.
  master_vars = {
    HORNET_DEB_URL               = var.deb_url
    HORNET_DEB_SHA256            = var.deb_sha256
    HORNET_ZMQ_PORT              = tostring(var.zmq_port)
    HORNET_WEB_PORT              = tostring(var.web_port)
    HORNET_TARGET_URL            = var.target_url
    HORNET_EXPECT_WORKERS        = tostring(var.expect_workers)
    HORNET_SCENARIO_B64          = var.scenario_file == null ? "" : filebase64(var.scenario_file)
    HORNET_MASTER_KEY_SECRET_B64 = filebase64("${var.keys_dir}/master.key_secret")
    HORNET_MASTER_KEY_B64        = filebase64("${var.keys_dir}/master.key")
    HORNET_WORKER_KEY_B64        = filebase64("${var.keys_dir}/worker.key")
    HORNET_WEB_TOKEN_B64         = filebase64(var.web_token_file)
  }
  worker_vars = {
    HORNET_DEB_URL               = var.deb_url
    HORNET_DEB_SHA256            = var.deb_sha256
    HORNET_MASTER_ADDR           = "tcp://${aws_instance.master.private_ip}:${var.zmq_port}"
    HORNET_MASTER_PUBLIC_KEY     = local.master_public_key
    HORNET_THREADS               = tostring(var.worker_threads)
    HORNET_WORKER_KEY_SECRET_B64 = filebase64("${var.keys_dir}/worker.key_secret")
    HORNET_WORKER_KEY_B64        = filebase64("${var.keys_dir}/worker.key")
  }
  master_user_data = join("\n", concat(
    ["#!/bin/bash", "# hornet master user data (deploy/terraform/aws)"],
    [for k, v in local.master_vars : "${k}='${replace(v, "'", "'\\''")}'"],
    [file("${path.module}/user-data/master.sh")]
  ))
  worker_user_data = join("\n", concat(
    ["#!/bin/bash", "# hornet worker user data (deploy/terraform/aws)"],
    [for k, v in local.worker_vars : "${k}='${replace(v, "'", "'\\''")}'"],
    [file("${path.module}/user-data/worker.sh")]
  ))
}

# --- security groups ---------------------------------------------------------

resource "aws_security_group" "master" {
  name_prefix = "${var.name}-master-"
  description = "hornet master: ZeroMQ from the workers, web from web_cidr"
  vpc_id      = local.vpc_id
  tags = {
    Name = "${var.name}-master"
  }
}

resource "aws_security_group" "worker" {
  name_prefix = "${var.name}-worker-"
  description = "hornet workers: no inbound traffic but SSH when asked"
  vpc_id      = local.vpc_id
  tags = {
    Name = "${var.name}-worker"
  }
}

resource "aws_vpc_security_group_ingress_rule" "zmq_from_workers" {
  security_group_id            = aws_security_group.master.id
  description                  = "ZeroMQ from the hornet workers only"
  referenced_security_group_id = aws_security_group.worker.id
  ip_protocol                  = "tcp"
  from_port                    = var.zmq_port
  to_port                      = var.zmq_port
}

resource "aws_vpc_security_group_ingress_rule" "web" {
  security_group_id = aws_security_group.master.id
  description       = "hornet web UI and API"
  cidr_ipv4         = var.web_cidr
  ip_protocol       = "tcp"
  from_port         = var.web_port
  to_port           = var.web_port
}

resource "aws_vpc_security_group_ingress_rule" "ssh_master" {
  count             = var.ssh_cidr == null ? 0 : 1
  security_group_id = aws_security_group.master.id
  description       = "SSH"
  cidr_ipv4         = var.ssh_cidr
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
}

resource "aws_vpc_security_group_ingress_rule" "ssh_worker" {
  count             = var.ssh_cidr == null ? 0 : 1
  security_group_id = aws_security_group.worker.id
  description       = "SSH"
  cidr_ipv4         = var.ssh_cidr
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
}

resource "aws_vpc_security_group_egress_rule" "master_all" {
  security_group_id = aws_security_group.master.id
  description       = "apt, the .deb, the system under test"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_vpc_security_group_egress_rule" "worker_all" {
  security_group_id = aws_security_group.worker.id
  description       = "apt, the .deb, the master, the system under test"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

# --- master ------------------------------------------------------------------

resource "aws_instance" "master" {
  ami                         = data.aws_ami.debian12.id
  instance_type               = var.master_instance_type
  subnet_id                   = local.subnet_ids[0]
  vpc_security_group_ids      = [aws_security_group.master.id]
  associate_public_ip_address = var.public_ips
  key_name                    = var.ssh_key_name
  user_data                   = sensitive(local.master_user_data)
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 8
    encrypted   = true
  }

  tags = {
    Name = "${var.name}-master"
    Role = "hornet-master"
  }
}

# --- workers -----------------------------------------------------------------

resource "aws_launch_template" "worker" {
  name_prefix            = "${var.name}-worker-"
  image_id               = data.aws_ami.debian12.id
  instance_type          = var.worker_instance_type
  key_name               = var.ssh_key_name
  user_data              = base64encode(sensitive(local.worker_user_data))
  update_default_version = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  network_interfaces {
    associate_public_ip_address = var.public_ips
    security_groups             = [aws_security_group.worker.id]
    delete_on_termination       = true
  }

  tag_specifications {
    resource_type = "instance"
    tags = {
      Name = "${var.name}-worker"
      Role = "hornet-worker"
    }
  }
}

resource "aws_autoscaling_group" "workers" {
  name                = "${var.name}-workers"
  min_size            = 0
  max_size            = var.worker_max
  desired_capacity    = var.worker_count
  vpc_zone_identifier = local.subnet_ids
  health_check_type   = "EC2"

  mixed_instances_policy {
    instances_distribution {
      on_demand_base_capacity                  = 0
      on_demand_percentage_above_base_capacity = var.worker_spot ? 0 : 100
      spot_allocation_strategy                 = "price-capacity-optimized"
    }
    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.worker.id
        version            = "$Latest"
      }
      override {
        instance_type = var.worker_instance_type
      }
    }
  }

  tag {
    key                 = "Name"
    value               = "${var.name}-worker"
    propagate_at_launch = true
  }
}
