# `for_each` on a source block (kiln's answer to hashicorp/packer#9524): one source per
# element, named `web["us-east-1"]`, each its own parallel branch. `each.key` and
# `each.value` work as in Terraform.

variable "ami_users" {
  type      = list(string)
  default   = ["111122223333"]
  sensitive = true
}

source "amazon-ebs" "web" {
  for_each = {
    "us-east-1" = "t3.micro"
    "eu-west-1" = "t3.small"
  }

  region        = each.key
  instance_type = each.value
  ami_name      = "web-${each.key}-{{timestamp}}"
  ami_users     = var.ami_users
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ubuntu"
}

build {
  name    = "fleet"
  sources = ["source.amazon-ebs.web"]

  provisioner "shell" {
    inline = ["echo ${source.name} in ${build.BuildRegion}"]
  }
}
