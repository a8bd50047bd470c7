variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name, and the Project tag."
  type        = string
  default     = "hornet"
}

variable "deb_url" {
  description = "HTTPS URL the instances download the hornet .deb from (make deb; e.g. a presigned S3 URL). Must be the amd64 package."
  type        = string
}

variable "deb_sha256" {
  description = "sha256 of the .deb (sha256sum build/deb/hornet_*_amd64.deb); checked before installing when set."
  type        = string
  default     = ""
}

variable "keys_dir" {
  description = "Local directory made by `hornet keys DIR`: master.key(_secret) and worker.key(_secret)."
  type        = string
}

variable "web_token_file" {
  description = "Local file holding the web UI/API bearer token (one line)."
  type        = string
}

variable "target_url" {
  description = "Base URL of the system under test (the master's --host)."
  type        = string
}

variable "scenario_file" {
  description = "Local scenario YAML for the master (sent in user data: keep it small, user data is at most 16 KB). null: the example examples/demo.yaml from the package."
  type        = string
  default     = null
}

variable "web_cidr" {
  description = "The only CIDR that may reach the web UI and API, e.g. your address/32."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.web_cidr))
    error_message = "web_cidr must be an IPv4 CIDR such as 203.0.113.7/32."
  }
}

variable "ssh_cidr" {
  description = "CIDR allowed to SSH to the master and the workers; null opens no SSH port."
  type        = string
  default     = null
}

variable "ssh_key_name" {
  description = "EC2 key pair for SSH (user admin on Debian); null for none."
  type        = string
  default     = null
}

variable "master_instance_type" {
  description = "Instance type of the master."
  type        = string
  default     = "c6i.large"
}

variable "worker_instance_type" {
  description = "Instance type of the workers."
  type        = string
  default     = "c6i.large"
}

variable "worker_count" {
  description = "Workers to run (the auto-scaling group's desired capacity)."
  type        = number
  default     = 3
}

variable "worker_max" {
  description = "Largest size the worker group may be resized to."
  type        = number
  default     = 50
}

variable "worker_spot" {
  description = "true: workers on spot instances; false: on-demand."
  type        = bool
  default     = false
}

variable "worker_threads" {
  description = "Engine threads per worker; 0 means one per vCPU of the instance."
  type        = number
  default     = 0
}

variable "expect_workers" {
  description = "Workers the master waits for before a run can start."
  type        = number
  default     = 1
}

variable "zmq_port" {
  description = "The master's ZeroMQ port (workers connect to it)."
  type        = number
  default     = 5557
}

variable "web_port" {
  description = "The master's web UI and API port."
  type        = number
  default     = 8089
}

variable "vpc_id" {
  description = "VPC to use; null: the region's default VPC."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets for the master (the first) and the workers (all); empty: the default VPC's default subnets. They need a route to the internet (or a mirror) for apt and the .deb."
  type        = list(string)
  default     = []
}

variable "public_ips" {
  description = "Give the master and the workers public IPv4 addresses (needed in the default VPC to reach apt and the .deb)."
  type        = bool
  default     = true
}
