// Command arbmm is the one binary of the arbmm trading engine. Each
// subcommand lives in its own file; this file only dispatches.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `arbmm: low-latency cross-exchange arbitrage and market-making engine

usage: arbmm <command> [flags] [args]

commands:
  replay [--json] FILE...   rebuild books from capture files and check every oracle they carry
  record -c CONFIG --out DIR [--duration D]
                            connect to every configured venue and record everything to capture files
  run -c CONFIG [--duration D]
                            trade the config's arbitrage on its venues (keys from the keystore)
  demo [-c CONFIG] [--duration D]
                            the engine against simulated Binance and Kraken venues in one process: arbitrage end to end
  simex [-c CONFIG] [--duration D]
                            run the simulated Binance and Kraken venues on loopback and print their URLs
  keys add|list|rotate|retire [flags]
                            manage the encrypted keystore of venue API keys
  help                      show this help
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line; it returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "replay":
		return cmdReplay(args[1:], stdout, stderr)
	case "record":
		return cmdRecord(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "simex":
		return cmdSimex(args[1:], stdout, stderr)
	case "keys":
		return cmdKeys(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "arbmm: unknown command %q\n\n%s", args[0], usage)
	return 2
}
