# A template that needs nothing but kiln: three local sources built in parallel, each producing
# real files, with shell-local provisioners, checksums and a manifest, published as one release
# of the product `quickstart` in the embedded registry.
#
#   kiln build examples/quickstart.pkr.hcl
#   kiln registry image -product quickstart -channel latest -provider file -region file -component file.note
#
# writes artifacts/ in the current directory; the second command prints the path of the note
# the newest release holds.

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

source "file" "menu" {
  content = "${join("\n", values(local.labels))}\n"
  target  = "artifacts/menu.txt"
}

source "null" "local" {
  communicator = "none"
}

build {
  name    = "quickstart"
  sources = ["source.file.note", "source.file.menu", "source.null.local"]

  # Each run publishes a release of the product `quickstart` (named by HCP_PACKER_BUILD_FINGERPRINT,
  # else a new ID); `latest` follows the newest complete one.
  hcp_packer_registry {
    bucket_name = "quickstart"
    description = "The quickstart's artifacts."
    build_labels = {
      "greeting" = var.greeting
    }
  }

  provisioner "shell-local" {
    inline = [
      "echo building ${source.name} for ${join(", ", values(local.labels))}",
      "sleep 1",
      "echo '${source.name} built by run ${build.PackerRunUUID}' > artifacts/${source.name}.log",
    ]
  }

  post-processor "checksum" {
    checksum_types = ["sha256", "md5"]
    output         = "artifacts/{{.BuildName}}.{{.ChecksumType}}"
  }

  post-processor "manifest" {
    output = "artifacts/manifest.json"
  }
}
