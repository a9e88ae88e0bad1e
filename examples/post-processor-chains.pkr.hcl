# Post-processor chains: each `post-processors` block is a path run in order, separate chains
# run in parallel, and `keep_input_artifact` decides which artifacts survive. Provisioners
# and post-processors can be limited to some sources with `only` and `except`.

source "null" "app" {
  communicator = "none"
}

source "null" "docs" {
  communicator = "none"
}

build {
  name    = "chains"
  sources = ["source.null.app", "source.null.docs"]

  provisioner "shell-local" {
    inline = ["echo building ${source.name}"]
  }

  provisioner "shell-local" {
    only   = ["null.app"]
    inline = ["echo only the app runs its tests"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["echo a provisioner failed on ${source.name}"]
  }

  # Chain 0: checksum the artifact (keeping it), then archive the checksums and drop them.
  post-processors {
    post-processor "checksum" {
      checksum_types      = ["sha256"]
      output              = "checksums/${source.name}.{{.ChecksumType}}"
      keep_input_artifact = true
    }
    post-processor "shell-local" {
      inline              = ["echo archiving checksums"]
      keep_input_artifact = false
    }
  }

  # Chain 1: a manifest for every source but the docs.
  post-processor "manifest" {
    output = "manifest.json"
    except = ["null.docs"]
  }
}

build {
  name    = "scratch"
  sources = ["source.null.app"]

  # The only chain does not keep its input, so the builder's artifact is deleted afterwards.
  post-processor "shell-local" {
    name                = "upload"
    inline              = ["echo uploading"]
    keep_input_artifact = false
  }
}
