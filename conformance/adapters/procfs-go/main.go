// prometheus/procfs as a decoder of the contract, in totals mode: Proc.ProcSMapsRollup().
//
// The input goes into a temporary proc tree as PID/smaps_rollup (SMAPS_KIND=rollup), which
// procfs reads directly, or as PID/smaps alone (SMAPS_KIND=smaps), which procfs sums itself
// when smaps_rollup is missing. It prints {"totals": {...}}: the ten fields procfs reports,
// converted back from bytes to kB. An error procfs returns is a refusal (exit 1); a panic is a
// crash (Go exits 2).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/procfs"
)

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	root, err := os.MkdirTemp("", "procfs-proc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer os.RemoveAll(root)
	pid := os.Getpid()
	dir := filepath.Join(root, strconv.Itoa(pid))
	name := "smaps"
	if os.Getenv("SMAPS_KIND") == "rollup" {
		name = "smaps_rollup"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fs, err := procfs.NewFS(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	proc, err := fs.Proc(pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rollup, err := proc.ProcSMapsRollup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "procfs refused the input:", err)
		os.RemoveAll(root)
		os.Exit(1)
	}
	kb := func(v uint64) string { return strconv.FormatUint(v/1024, 10) }
	totals := map[string]string{
		"Rss":           kb(rollup.Rss),
		"Pss":           kb(rollup.Pss),
		"Shared_Clean":  kb(rollup.SharedClean),
		"Shared_Dirty":  kb(rollup.SharedDirty),
		"Private_Clean": kb(rollup.PrivateClean),
		"Private_Dirty": kb(rollup.PrivateDirty),
		"Referenced":    kb(rollup.Referenced),
		"Anonymous":     kb(rollup.Anonymous),
		"Swap":          kb(rollup.Swap),
		"SwapPss":       kb(rollup.SwapPss),
	}
	out, _ := json.Marshal(map[string]interface{}{"totals": totals})
	fmt.Println(string(out))
}
