# A template that needs nothing but kiln: local sources, variables, locals and functions.

variable "greeting" {
  type        = string
  default     = "hello"
  description = "What each artifact says."

  validation {
    condition     = length(var.greeting) > 0
    error_message = "The greeting must not be empty."
  }
}

variable "flavours" {
  type    = list(string)
  default = ["vanilla", "chocolate", "strawberry"]
}

locals {
  stamp  = formatdate("YYYYMMDD", timestamp())
  labels = { for f in var.flavours : f => upper(f) }
}

source "file" "note" {
  content = "${var.greeting} from kiln, built ${local.stamp}\n"
  target  = "artifacts/note.txt"
}

source "null" "local" {
  communicator = "none"
}

build {
  name    = "quickstart"
  sources = ["source.file.note", "source.null.local"]

  provisioner "shell-local" {
    inline = ["echo building ${source.name} for ${join(", ", values(local.labels))}"]
  }

  post-processor "manifest" {
    output = "artifacts/manifest.json"
  }
}
