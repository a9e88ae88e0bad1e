# Two sources publishing to one release of the registry: each source's publish step attaches
# its images, and the release is finalized once both have published.

variable "release" {
  type    = string
  default = "v1.1.0"
}

locals {
  product = "web-server"
}

data "hcp-packer-version" "base" {
  bucket_name  = "base-images"
  channel_name = "production"
}

source "amazon-ebs" "web" {
  ami_name      = "web-${source.name}-${var.release}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ubuntu"
}

build {
  name = "release"

  source "amazon-ebs.web" {
    name   = "east"
    region = "us-east-1"
  }

  source "amazon-ebs.web" {
    name   = "west"
    region = "us-west-2"
  }

  provisioner "shell" {
    inline = ["echo built from ${data.hcp-packer-version.base.fingerprint}"]
  }

  post-processor "hcp-packer-publish" {
    bucket_name  = "acme"
    product_name = local.product
    release_name = var.release
    channel      = "staging"
  }
}
