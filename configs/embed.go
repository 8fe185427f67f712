package configs

import "embed"

// FS holds every *.yaml file of this directory and of instruments/, embedded
// in the binary so that arbmm needs no config on disk to run an example. Read
// one with config.ParseFS(configs.FS, "prod.example.yaml"); its
// instruments_file references resolve inside FS. FS is read-only.
//
//go:embed *.yaml instruments/*.yaml
var FS embed.FS
