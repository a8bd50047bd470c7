locals {
  # Approximate on-demand Linux list prices in us-east-1, USD per hour, as
  # known in 2026-12 (check the AWS pricing page; spot is usually 60-70% less).
  on_demand_usd_per_hour = {
    "c6i.large"   = 0.085
    "c6i.xlarge"  = 0.17
    "c6i.2xlarge" = 0.34
    "c7i.large"   = 0.08925
    "c7i.xlarge"  = 0.1785
    "m6i.large"   = 0.096
    "t3.medium"   = 0.0416
  }
  master_address = var.public_ips ? aws_instance.master.public_ip : aws_instance.master.private_ip
}

output "ui_url" {
  description = "The web UI and API (the token is in web_token_file)."
  value       = "http://${local.master_address}:${var.web_port}/"
}

output "master_private_ip" {
  description = "The address the workers connect to."
  value       = aws_instance.master.private_ip
}

output "worker_group_name" {
  description = "The workers' auto-scaling group."
  value       = aws_autoscaling_group.workers.name
}

output "resize_command" {
  description = "Changes the number of workers, also during a run (replace N). A later terraform apply sets it back to worker_count."
  value       = "aws autoscaling set-desired-capacity --region ${var.region} --auto-scaling-group-name ${aws_autoscaling_group.workers.name} --desired-capacity N"
}

output "approx_on_demand_usd_per_hour" {
  description = "Instances only, at on-demand list prices (null for a type not in the table); public IPv4 addresses, EBS and traffic are extra."
  value = (
    contains(keys(local.on_demand_usd_per_hour), var.master_instance_type) &&
    contains(keys(local.on_demand_usd_per_hour), var.worker_instance_type)
    ? local.on_demand_usd_per_hour[var.master_instance_type] + var.worker_count * local.on_demand_usd_per_hour[var.worker_instance_type]
    : null
  )
}
