package configs

import "embed"

// FS holds every *.yaml file of this directory and of instruments/ (and the
// venue metadata files there, such as Kraken's AssetPairs response that
// replay uses for Kraken WS v2 precision), embedded
// in the binary so that arbmm needs no config on disk to run an example. Read
// one with config.ParseFS(configs.FS, "prod.example.yaml"); its
// instruments_file references resolve inside FS. FS is read-only.
//
//go:embed *.yaml instruments/*.yaml instruments/*.json
var FS embed.FS
