# One build, two amazon-ebs sources (inline overrides of one source block, one per region),
# each copied to two more regions: kiln builds every branch in parallel.

variable "copy_to" {
  type        = list(string)
  default     = ["eu-west-1", "ap-southeast-2"]
  description = "Regions each AMI is copied to once built."
}

source "amazon-ebs" "base" {
  ami_name      = "web-${source.name}-{{timestamp}}"
  instance_type = "t3.micro"
  ssh_username  = "ubuntu"
  ami_regions   = var.copy_to

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    most_recent = true
    owners      = ["099720109477"]
  }
}

build {
  name = "web"

  source "amazon-ebs.base" {
    name   = "east"
    region = "us-east-1"
  }

  source "amazon-ebs.base" {
    name   = "west"
    region = "us-west-2"
  }

  provisioner "shell" {
    inline = ["sudo apt-get update", "sudo apt-get install -y nginx"]
  }

  provisioner "file" {
    source      = "index.html"
    destination = "/tmp/index.html"
  }

  post-processor "manifest" {
    output = "manifest.json"
  }
}
